// End to end: the web app in Debian's Chromium against a running stack
// (`make run`) at BASE_URL, signed in with the organizer's token. Writes
// screenshots to test-output/.
//
//   BASE_URL=http://127.0.0.1:8080 ORGANIZER_TOKEN=$(cat .run/organizer-token) npm run e2e
//
// Only BASE_URL is reached: every other request (map tiles) is refused, as
// it would be on a machine without a network, and the map must still show
// its points.
import assert from 'node:assert/strict';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const baseURL = (process.env.BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const organizerToken = process.env.ORGANIZER_TOKEN ?? '';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const output = new URL('../test-output/', import.meta.url).pathname;
const timeout = 15_000;

// A name that runs script wherever it is read as HTML.
const markup = '<img src=x onerror=alert(1)>';

let browser;
let organizer;
const pageErrors = [];
const dialogs = [];

// api calls the API as the organizer and returns the answer's JSON.
async function api(method, path, body) {
  const res = await fetch(`${baseURL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${organizerToken}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const answer = await res.json().catch(() => null);
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

// newContext is a browser of its own (cookies included) that reaches only
// BASE_URL and records page errors, violations of the page's
// Content-Security-Policy and dialogs.
async function newContext() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  context.setDefaultTimeout(timeout);
  const origin = new URL(baseURL).origin;
  await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin ? route.continue() : route.abort()));
  context.on('weberror', (e) => pageErrors.push(e.error().message));
  context.on('console', (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && pageErrors.push(m.text()));
  context.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  return context;
}

before(async () => {
  if (!organizerToken) throw new Error('ORGANIZER_TOKEN is not set: ORGANIZER_TOKEN=$(cat .run/organizer-token)');
  const res = await fetch(`${baseURL}/api/persons`, { headers: { Authorization: `Bearer ${organizerToken}` } }).catch((err) => err);
  if (!(res instanceof Response) || !res.ok) {
    throw new Error(`no UdaConnect answers at ${baseURL}/api/persons with the organizer's token (${res instanceof Response ? res.status : res.message}); start it with make run, set BASE_URL and ORGANIZER_TOKEN`);
  }
  await access(executablePath).catch(() => {
    throw new Error(`no browser at ${executablePath}: install Debian's with apt-get install -y chromium, or set CHROMIUM`);
  });
  await mkdir(output, { recursive: true });
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  organizer = await newContext();
});

after(async () => {
  await browser?.close();
});

// openApp opens the organizer's sign-in link.
async function openApp(viewport) {
  const page = await organizer.newPage();
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(`${baseURL}/#token=${organizerToken}`);
  return page;
}

// dateIn waits until the input labelled label holds a date (the view sets it
// once the person's data has come), and returns it.
async function dateIn(page, label) {
  const input = await page.getByLabel(label).elementHandle();
  await page.waitForFunction((el) => /^\d{4}-\d{2}-\d{2}$/.test(el.value), input);
  return input.inputValue();
}

// meetings reads "Met N people, M times" as M, after the search settled.
async function meetings(page) {
  const summary = page.locator('.summary');
  await summary.waitFor();
  const m = /Met (\d+) (?:person|people), (\d+) times?/.exec(await summary.textContent());
  assert.ok(m, `summary reads ${await summary.textContent()}`);
  return Number(m[2]);
}

const day = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

// search sets the controls and waits for the answer to exactly that search.
async function search(page, { from, to, distance, window }) {
  await page.getByLabel('From').fill(from);
  await page.getByLabel('To').fill(to);
  await page.getByLabel('Time apart').selectOption({ label: window });
  await page.getByLabel('Distance (m)').fill(String(distance));
  const dates = [from, to].map((d) => day.format(new Date(`${d}T00:00:00Z`))).join(' – ');
  const within = `within ${distance} m${window === 'Any time' ? '' : ` and ${window}`}`;
  await page.getByText(`${within}, ${dates})`).or(page.getByText(`No one was ${within} of`)).or(page.locator('.state.error')).first().waitFor();
}

test('the seeded people load', async () => {
  const page = await openApp();
  const people = page.getByRole('list').first();
  for (const name of ['Pam Trexler', 'Taco Fargo', 'Frank Shader', 'Paul Badman', 'Otto Spring']) {
    await people.getByRole('button', { name }).waitFor();
  }
  assert.match(await page.locator('.count').textContent(), /^\d+ people$/);

  await page.getByLabel('Search by name or company').fill('usda');
  await page.getByText(/^1 of \d+ people$/).waitFor();
  await page.close();
});

test('Pam Trexler’s every report from the seed, on the map; the distance changes them', async () => {
  const page = await openApp();
  await page.getByRole('button', { name: /Pam Trexler/ }).click();
  await page.getByRole('heading', { name: 'Whom Pam Trexler met' }).waitFor();
  await page.getByRole('link', { name: 'Show every report' }).click();

  // The controls start at her data's range, 5 m and 15 minutes.
  await dateIn(page, 'From');
  await dateIn(page, 'To');
  assert.equal(await page.getByLabel('Distance (m)').inputValue(), '5');
  assert.equal(await page.getByLabel('Time apart').inputValue(), '15m');

  // The seed has Taco Fargo and Frank Shader at Pam's spot in San Mateo on
  // 2020-07-07, and more of them some tens of metres away on 2020-08-15.
  await search(page, { from: '2020-07-01', to: '2020-08-31', distance: 5, window: '15 minutes' });
  const near = await meetings(page);
  const met = page.getByRole('list', { name: 'People Pam Trexler met' });
  await met.getByRole('button', { name: /Taco Fargo/ }).waitFor();
  await met.getByRole('button', { name: /Frank Shader/ }).waitFor();

  await search(page, { from: '2020-07-01', to: '2020-08-31', distance: 100, window: '15 minutes' });
  const wider = await meetings(page);
  assert.ok(wider > near, `within 100 m: ${wider} meetings; within 5 m: ${near}`);

  // The map shows the points without any tile server, framed by the outline.
  const map = page.getByRole('region', { name: "Map of Pam Trexler's reports and meetings" });
  assert.ok((await map.locator('.leaflet-overlay-pane path.leaflet-interactive').count()) >= wider);
  assert.equal(await map.locator('.leaflet-overlay-pane path:not(.leaflet-interactive)').count(), 1);

  // Selecting a person highlights their meeting points.
  const taco = met.getByRole('button', { name: /Taco Fargo/ });
  await taco.click();
  assert.equal(await taco.getAttribute('aria-pressed'), 'true');
  await map.locator('.leaflet-marker-icon').first().waitFor();
  await page.getByRole('list', { name: 'Meetings with Taco Fargo' }).waitFor();
  await page.screenshot({ path: join(output, 'connections.png'), fullPage: true });
  await page.close();
});

test('on a phone-sized screen', async () => {
  const page = await openApp({ width: 390, height: 844 });
  await page.getByRole('button', { name: /Pam Trexler/ }).click();
  await page.locator('.summary, .state.empty').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await page.screenshot({ path: join(output, 'connections-phone.png'), fullPage: true });
  await page.close();
});

test('with the keyboard alone', async () => {
  const page = await openApp();
  await page.getByRole('button', { name: /Pam Trexler/ }).waitFor();
  // tabTo presses Tab until the focused element matches, at most 60 times.
  const tabTo = async (match) => {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(match)) return;
    }
    assert.fail(`Tab never reached ${match}`);
  };
  await tabTo(() => document.activeElement?.textContent?.includes('Pam Trexler'));
  await page.keyboard.press('Enter');
  await page.locator('.summary, .state.empty').first().waitFor();
  await tabTo(() => document.activeElement?.classList.contains('group'));
  await page.keyboard.press('Space');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-pressed')), 'true');
  await page.close();
});

test('registering a person', async () => {
  const page = await openApp();
  await page.getByRole('button', { name: /Pam Trexler/ }).waitFor();
  const last = `Tester ${Date.now()}`;

  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByText('First name is required.').waitFor();

  await page.getByLabel('First name', { exact: true }).fill('Ada');
  await page.getByLabel('Last name', { exact: true }).fill(last);
  await page.getByLabel('Company', { exact: true }).fill('Analytical Engines');
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByText(`Registered Ada ${last}.`).waitFor();
  await page.getByRole('list').first().getByRole('button', { name: new RegExp(`Ada ${last}`) }).waitFor();

  // Her sign-in link and its QR code, shown once, sign her in elsewhere.
  const link = await page.getByRole('textbox', { name: 'Sign-in link' }).inputValue();
  assert.match(link, new RegExp(`^${baseURL}/#token=.+`));
  await page.getByRole('img', { name: `QR code of the sign-in link for Ada ${last}` }).waitFor();
  await page.screenshot({ path: join(output, 'registered.png'), fullPage: true });
  await page.getByRole('button', { name: 'Done' }).click();
  assert.equal(await page.getByRole('textbox', { name: 'Sign-in link' }).count(), 0);
  const phone = await newContext();
  const hers = await phone.newPage();
  await hers.goto(link);
  await hers.getByRole('heading', { name: `Whom Ada ${last} met` }).waitFor();
  await phone.close();

  // It was stored, not only shown.
  await page.reload();
  await page.getByRole('button', { name: new RegExp(`Ada ${last}`) }).waitFor();
  await page.close();
});

test('a hostile name is shown as text in the list, on the cards and in the map tooltip', async () => {
  const last = `Hostile ${Date.now()}`;
  const name = `${markup} ${last}`;
  const person = await api('POST', '/api/persons', { first_name: markup, last_name: last, company_name: 'Hostile Inc' });
  // About 3 m north of Pam Trexler's reports in San Mateo on 2020-07-07 (db/seed/demo.sql).
  await api('POST', '/api/locations', { person_id: person.id, latitude: 37.55366, longitude: -122.290883, creation_time: '2020-07-07T10:37:06Z' });

  const page = await organizer.newPage();
  const res = await page.goto(`${baseURL}/#token=${organizerToken}`);
  const csp = res.headers()['content-security-policy'] ?? '';
  const scriptSrc = csp.split(';').map((d) => d.trim().split(/\s+/)).find((d) => d[0] === 'script-src');
  assert.ok(scriptSrc?.includes("'self'"), `Content-Security-Policy: ${csp}`);
  assert.ok(!scriptSrc.includes("'unsafe-inline'") && !scriptSrc.includes("'unsafe-eval'"), `Content-Security-Policy: ${csp}`);

  const inList = page.getByRole('list').first().getByRole('button', { name: new RegExp(last) });
  assert.equal(await inList.locator('.name').textContent(), name);

  await page.getByRole('button', { name: /Pam Trexler/ }).click();
  // The report went on to detection: a meeting with Pam, named as text.
  const row = page.getByRole('list', { name: 'Meetings of Pam Trexler' }).getByRole('button', { name: new RegExp(last) });
  assert.equal(await row.locator('.name').textContent(), name);
  await page.getByRole('link', { name: 'Show every report' }).click();
  const card = page.getByRole('list', { name: 'People Pam Trexler met' }).getByRole('button', { name: new RegExp(last) });
  assert.equal(await card.locator('.name').textContent(), name);

  // Selected, the meeting is the one point in the selection's colour, drawn
  // on top; the pin stands above it, so hover its lower half.
  await card.click();
  const map = page.getByRole('region', { name: "Map of Pam Trexler's reports and meetings" });
  const point = map.locator('.leaflet-overlay-pane path[stroke="#c4132a"]');
  const box = await point.boundingBox();
  await point.hover({ position: { x: box.width / 2, y: box.height * 0.8 } });
  const tooltip = map.locator('.leaflet-tooltip');
  await tooltip.waitFor();
  const said = await tooltip.textContent();
  assert.ok(said.startsWith(`${name}, 7 Jul 2020, 10:37 UTC, `), `the tooltip says ${said}`);
  assert.equal(await tooltip.locator('img').count(), 0);
  assert.equal(await page.locator('img[src="x"]').count(), 0);
  await page.screenshot({ path: join(output, 'hostile-name.png'), fullPage: true });
  assert.deepEqual(dialogs, []);
  await page.close();
});

test('an attendee signs in with their link, sees only their own meetings, and signs out', async () => {
  const last = `Attendee ${Date.now()}`;
  const person = await api('POST', '/api/persons', { first_name: 'Grace', last_name: last, company_name: 'Harvard' });
  assert.ok(person.token, 'the registration answers the sign-in token');
  // At Pam Trexler's spot in San Mateo, when she was there (db/seed/demo.sql).
  await api('POST', '/api/locations', { person_id: person.id, latitude: 37.55363, longitude: -122.290883, creation_time: '2020-07-07T10:37:06Z' });

  const context = await newContext();
  const page = await context.newPage();
  await page.goto(`${baseURL}/#token=${person.token}`);
  await page.getByRole('heading', { name: `Whom Grace ${last} met` }).waitFor();
  assert.equal(new URL(page.url()).hash, '');
  assert.ok(!page.url().includes(person.token), `the address still holds the token: ${page.url()}`);
  // Her report, posted to /api/locations, made a meeting with Pam.
  await page.getByRole('list', { name: `Meetings of Grace ${last}` }).getByRole('button', { name: /Pam Trexler/ }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'People' }).count(), 0);
  assert.equal(await page.getByRole('heading', { name: 'Register a person' }).count(), 0);
  await page.screenshot({ path: join(output, 'attendee.png'), fullPage: true });

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('Open the sign-in link you were given').waitFor();
  assert.equal(await page.evaluate(() => fetch('/api/session').then((r) => r.status)), 401);
  await page.reload();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: `Whom Grace ${last} met` }).count(), 0);
  await page.screenshot({ path: join(output, 'signed-out.png'), fullPage: true });

  // The link opened in a tab that shows the app already signs in too.
  await page.goto(`${baseURL}/#token=${person.token}`);
  await page.getByRole('heading', { name: `Whom Grace ${last} met` }).waitFor();
  assert.equal(new URL(page.url()).hash, '');
  await context.close();
});

test('a meeting that starts while the page is open appears without a reload, and ends in place; Back and Forward', async () => {
  const stamp = Date.now();
  const ada = await api('POST', '/api/persons', { first_name: 'Ada', last_name: `Live ${stamp}`, company_name: 'Booth 7' });
  const bob = await api('POST', '/api/persons', { first_name: 'Bob', last_name: `Live ${stamp}`, company_name: 'Booth 7' });
  // Somewhere no one else reports, on a day of its own.
  const spot = { latitude: 48.85837, longitude: 2.294481 };
  await api('POST', '/api/locations', { person_id: ada.id, ...spot, creation_time: '2022-03-03T10:00:00Z' });

  // A link to her page opens it directly.
  const page = await organizer.newPage();
  await page.goto(`${baseURL}/persons/${ada.id}#token=${organizerToken}`);
  await page.getByRole('heading', { name: `Whom Ada Live ${stamp} met` }).waitFor();
  await page.getByText(`No meetings of Ada Live ${stamp} yet.`).waitFor();
  await page.getByText('Live: new meetings appear as they happen.').waitFor();

  await api('POST', '/api/locations', { person_id: bob.id, ...spot, creation_time: '2022-03-03T10:05:00Z' });
  const list = page.getByRole('list', { name: `Meetings of Ada Live ${stamp}` });
  const row = list.locator('li.fresh').filter({ hasText: `Bob Live ${stamp}` });
  await row.waitFor(); // highlighted as it arrives
  assert.match(await row.textContent(), /ongoing/);
  await page.screenshot({ path: join(output, 'meeting-live.png'), fullPage: true });

  // Bob reports from elsewhere past the window: the meeting ends, in its place.
  await api('POST', '/api/locations', { person_id: bob.id, latitude: 48.8606, longitude: 2.3376, creation_time: '2022-03-03T10:30:00Z' });
  await list.getByRole('listitem').filter({ hasText: `Bob Live ${stamp}` }).filter({ hasText: 'ended' }).waitFor();
  assert.equal(await list.getByRole('listitem').count(), 1);

  // The views and days are in the address; Back and Forward go through them.
  await page.getByLabel('From').fill('2022-03-03');
  await page.waitForURL(/from=2022-03-03/);
  await page.getByRole('link', { name: 'Show every report' }).click();
  await page.waitForURL(/view=reports/);
  await page.getByLabel('Time apart').waitFor();
  await page.goBack();
  await list.getByRole('listitem').filter({ hasText: `Bob Live ${stamp}` }).waitFor();
  assert.equal(await page.getByLabel('From').inputValue(), '2022-03-03');
  await page.goBack();
  await page.waitForURL((url) => url.search === '');
  await page.goForward();
  await page.waitForURL(/from=2022-03-03/);
  assert.equal(await page.getByLabel('From').inputValue(), '2022-03-03');
  await page.close();
});

test('no errors in the page, no dialog', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(dialogs, []);
});
