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
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const baseURL = (process.env.BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const organizerToken = process.env.ORGANIZER_TOKEN ?? '';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const output = new URL('../test-output/', import.meta.url).pathname;
const timeout = 15_000;
// The colours of the map (src/MeetingMap.tsx).
const colors = { own: '#1f5fbf', meeting: '#a34a00', person: '#a8005f' };

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
async function newContext(options = {}) {
  // The venue's zone is the browser's unless set: UTC, as the seed's days.
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, timezoneId: 'UTC', ...options });
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

// dateIn asserts that the input labelled label in the connection search
// holds a date. The search is drawn only once the person's data has come,
// with its controls set from it; until then the page may still show the
// meetings view, whose own "From" is empty.
async function dateIn(page, label) {
  const value = await page.getByRole('form', { name: 'Connection search' }).getByLabel(label).inputValue();
  assert.match(value, /^\d{4}-\d{2}-\d{2}$/, `${label} holds ${value}`);
}

// meetings reads "Met N people, M times" as M, after the search settled.
async function meetings(page) {
  const summary = page.locator('.summary');
  await summary.waitFor();
  const m = /Met (\d+) (?:person|people), (\d+) times?/.exec(await summary.textContent());
  assert.ok(m, `summary reads ${await summary.textContent()}`);
  return Number(m[2]);
}

// search sets the controls and waits for the answer to exactly that search.
async function search(page, { from, to, distance, window }) {
  await page.getByLabel('From').fill(from);
  await page.getByLabel('To').fill(to);
  await page.getByLabel('Time apart').selectOption({ label: window });
  await page.getByLabel('Distance (m)').fill(String(distance));
  const dates = `${from} – ${to} (UTC days)`;
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
  await page.getByText(/^1 person found$/).waitFor();
  await page.close();
});

test('Pam Trexler’s every report from the seed, on the map; the distance changes them', async () => {
  const page = await openApp();
  await page.getByRole('button', { name: /Pam Trexler/ }).click();
  await page.getByRole('heading', { name: 'Whom Pam Trexler met' }).waitFor();
  await page.getByRole('link', { name: 'Every report' }).click();

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

  // The map shows the points without any tile server, framed by the
  // outline, the meetings clustered, with a scale bar.
  const map = page.getByRole('region', { name: "Map of Pam Trexler's reports and meetings" });
  assert.ok((await map.locator(`path[stroke="${colors.own}"]`).count()) > 0);
  assert.equal(await map.locator('.leaflet-overlay-pane path:not(.leaflet-interactive)').count(), 1);
  await map.locator('.leaflet-marker-icon.cluster').first().waitFor();
  await map.locator('.leaflet-control-scale').waitFor();

  // Selecting a person highlights their meeting points.
  const taco = met.getByRole('button', { name: /Taco Fargo/ });
  await taco.click();
  assert.equal(await taco.getAttribute('aria-pressed'), 'true');
  await map.locator(`path[stroke="${colors.person}"]`).first().waitFor();
  await page.getByRole('list', { name: 'Meetings with Taco Fargo' }).waitFor();
  await page.screenshot({ path: join(output, 'connections.png'), fullPage: true });
  await page.close();
});

test('on a phone-sized screen', async () => {
  const page = await openApp({ width: 390, height: 844 });
  await page.getByLabel('Search by name or company').fill('pam trexler');
  await page.getByRole('button', { name: /Pam Trexler/ }).click();
  await page.locator('.summary, .state.empty').first().waitFor();
  // Her page, below the list, is brought up.
  const top = await page.locator('#connections').evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(Math.abs(top) < 1, `her page is ${top}px below the top of the screen`);
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
  // Her cards are drawn once her meetings came and the list has its size.
  await page.getByRole('list', { name: 'People Pam Trexler met' }).locator('.group').first().waitFor();
  await tabTo(() => document.activeElement?.classList.contains('group'));
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.activeElement?.getAttribute('aria-expanded') === 'true');
  await page.close();
});

test('registering a person', async () => {
  const page = await openApp();
  await page.getByRole('button', { name: /Pam Trexler/ }).waitFor();
  const last = `Tester ${Date.now()}`;

  await page.locator('summary', { hasText: 'Register a person' }).click(); // the folded form
  // Passing through the fields shows no problem; submitting does.
  await page.getByLabel('First name', { exact: true }).focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.getByText('First name is required.').count(), 0);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByText('First name is required.').waitFor();

  await page.getByLabel('First name', { exact: true }).fill('Ada');
  await page.getByLabel('Last name', { exact: true }).fill(last);
  await page.getByLabel('Company', { exact: true }).fill('Analytical Engines');
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByText(`Registered Ada ${last}.`).waitFor();
  // She is selected, her page open beside her sign-in link.
  await page.waitForURL(/\/persons\/\d+$/);
  await page.getByRole('heading', { name: `Whom Ada ${last} met` }).waitFor();
  await page.getByRole('list').first().getByRole('button', { name: new RegExp(`Ada ${last}`) }).waitFor();

  // The same names and company again are warned of.
  await page.getByLabel('First name', { exact: true }).fill('ada');
  await page.getByLabel('Last name', { exact: true }).fill(last.toUpperCase());
  await page.getByLabel('Company', { exact: true }).fill('Analytical Engines');
  await page.getByLabel('First name', { exact: true }).focus();
  await page.getByText(/^Likely already registered: Ada /).waitFor();

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

  // Deleted, after a yes, she is gone, and her link signs no one in.
  await page.getByRole('button', { name: `Delete Ada ${last}…` }).click();
  await page.getByRole('group', { name: `Delete Ada ${last}` }).getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText(`Deleted Ada ${last} with their reports and meetings.`).waitFor();
  await page.waitForURL(`${baseURL}/`);
  await page.getByLabel('Search by name or company').fill(last);
  await page.getByText('No one matches').waitFor();
  const gone = await (await newContext()).newPage();
  await gone.goto(link);
  await gone.getByRole('heading', { name: 'Sign in' }).waitFor();
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
  const row = page.getByRole('list', { name: 'People Pam Trexler met' }).getByRole('button', { name: new RegExp(last) });
  assert.equal(await row.locator('.name').textContent(), name);
  await page.getByRole('link', { name: 'Every report' }).click();
  const card = page.getByRole('list', { name: 'People Pam Trexler met' }).getByRole('button', { name: new RegExp(last) });
  assert.equal(await card.locator('.name').textContent(), name);

  // Selected, the meeting is the one point in the selection's colour, drawn
  // on top.
  await card.click();
  const map = page.getByRole('region', { name: "Map of Pam Trexler's reports and meetings" });
  const point = map.locator(`.leaflet-selection-pane path[stroke="${colors.person}"]`);
  await point.dispatchEvent('mouseover');
  const tooltip = map.locator('.leaflet-tooltip');
  await tooltip.waitFor();
  const said = await tooltip.textContent();
  assert.ok(said.startsWith(`${name}, 2020-07-07 10:37, `), `the tooltip says ${said}`);
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
  await page.getByRole('list', { name: `People Grace ${last} met` }).getByRole('button', { name: /Pam Trexler/ }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'People' }).count(), 0);
  assert.equal(await page.getByText('Register a person').count(), 0);
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
  // Somewhere no one else reports. A meeting grows as far as the detector's
  // time, the newest report it has (never past the clock): a third person's
  // report sets it to now, so that Ada and Bob, minutes before, are together
  // until now, an ongoing meeting.
  const spot = { latitude: 48.85837, longitude: 2.294481 };
  const clock = await api('POST', '/api/persons', { first_name: 'Clock', last_name: `Live ${stamp}`, company_name: 'Booth 7' });
  const now = Date.now();
  const minutesAgo = (m) => new Date(now - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await api('POST', '/api/locations', { person_id: clock.id, latitude: 48.8606, longitude: 2.3376, creation_time: minutesAgo(0) });
  await api('POST', '/api/locations', { person_id: ada.id, ...spot, creation_time: minutesAgo(6) });

  // A link to her page opens it directly.
  const page = await organizer.newPage();
  await page.goto(`${baseURL}/persons/${ada.id}#token=${organizerToken}`);
  await page.getByRole('heading', { name: `Whom Ada Live ${stamp} met` }).waitFor();
  await page.getByText(`No meetings of Ada Live ${stamp} yet.`).waitFor();
  await page.getByText('Live: new meetings appear as they happen.').waitFor();

  await api('POST', '/api/locations', { person_id: bob.id, ...spot, creation_time: minutesAgo(5) });
  const list = page.getByRole('list', { name: `People Ada Live ${stamp} met` });
  // The new meeting's card is highlighted for a moment as it arrives.
  await list.locator('li.fresh').filter({ hasText: `Bob Live ${stamp}` }).waitFor();
  await list.getByRole('button', { name: new RegExp(`Bob Live ${stamp}`) }).click();
  const meetingsWithBob = page.getByRole('list', { name: `Meetings with Bob Live ${stamp}` });
  await meetingsWithBob.getByText(/\(ongoing\)/).waitFor();
  await page.screenshot({ path: join(output, 'meeting-live.png'), fullPage: true });

  // Bob reports from elsewhere a minute later: he left, more than the gap
  // before the detector's time, so the meeting ends, in its place.
  await api('POST', '/api/locations', { person_id: bob.id, latitude: 48.8606, longitude: 2.3376, creation_time: minutesAgo(4) });
  await page.waitForFunction((name) => {
    const l = document.querySelector(`ol[aria-label="${name}"]`);
    return l && l.children.length === 1 && !l.textContent.includes('ongoing');
  }, `Meetings with Bob Live ${stamp}`);

  // The views and days are in the address; Back and Forward go through them.
  // From the day before: the meeting stays in view in any venue time zone.
  const from = new Date(now - 24 * 3600_000).toISOString().slice(0, 10);
  await page.getByLabel('From').fill(from);
  await page.waitForURL(new RegExp(`from=${from}`));
  await page.getByRole('link', { name: 'Every report' }).click();
  await page.waitForURL(/view=reports/);
  await page.getByLabel('Time apart').waitFor();
  await page.goBack();
  await list.getByRole('button', { name: new RegExp(`Bob Live ${stamp}`) }).waitFor();
  assert.equal(await page.getByLabel('From').inputValue(), from);
  await page.goBack();
  await page.waitForURL((url) => !url.search.includes('from'));
  await page.goForward();
  await page.waitForURL(new RegExp(`from=${from}`));
  assert.equal(await page.getByLabel('From').inputValue(), from);
  await page.close();
});

// pamID finds Pam Trexler's id through the people search.
async function pamID() {
  const [pam] = await api('GET', '/api/persons?q=pam+trexler&limit=1');
  return pam.id;
}

test('a deep link opens the view it names, and a reload keeps its filters', async () => {
  const id = await pamID();
  const page = await organizer.newPage();
  await page.goto(`${baseURL}/persons/${id}?sort=closest&find=taco#token=${organizerToken}`);
  const met = page.getByRole('list', { name: 'People Pam Trexler met' });
  await met.getByRole('button', { name: /Taco Fargo/ }).waitFor();
  assert.equal(await met.getByRole('button').count(), 1);
  assert.equal(await page.getByLabel('Sort by').inputValue(), 'closest');
  assert.equal(await page.getByLabel('Find a person').inputValue(), 'taco');
  assert.match(await page.locator('.summary').textContent(), /^Met \d+ people in \d+ meetings, .* together; showing 1 person$/);
  assert.equal(await page.getByRole('button', { name: 'Share my location' }).count(), 0, 'the organizer shares no location');

  await page.getByLabel('Sort by').selectOption('recent');
  await page.waitForURL(/sort=recent/);
  await page.reload();
  await met.getByRole('button', { name: /Taco Fargo/ }).waitFor();
  assert.equal(await page.getByLabel('Sort by').inputValue(), 'recent');
  assert.equal(await page.getByLabel('Find a person').inputValue(), 'taco');
  await page.goBack();
  await page.waitForURL(/sort=closest/);
  assert.equal(await page.getByLabel('Sort by').inputValue(), 'closest');
  await page.goForward();
  await page.waitForURL(/sort=recent/);
  assert.equal(await page.getByLabel('Sort by').inputValue(), 'recent');
  await page.close();
});

test('the meetings are clustered on the map, and no marker is a tab stop', async () => {
  const id = await pamID();
  const page = await organizer.newPage();
  await page.goto(`${baseURL}/persons/${id}#token=${organizerToken}`);
  const map = page.getByRole('region', { name: 'Map of Pam Trexler\'s meetings' });
  await map.locator('.leaflet-marker-icon.cluster').first().waitFor();
  await map.locator('.leaflet-control-scale').waitFor();
  assert.equal(await map.locator('.leaflet-marker-icon[tabindex]:not([tabindex="-1"]), path[tabindex]').count(), 0);

  // Clicking a cluster opens it; clicking a meeting brings its card into view.
  await map.locator('.leaflet-marker-icon.cluster').first().click();
  const point = map.locator(`path[stroke="${colors.meeting}"]`).first();
  await point.waitFor();
  await point.click({ force: true });
  await page.waitForURL(/with=\d+/);
  const card = page.locator('.group-list li.selected');
  await card.waitFor();
  assert.ok(await card.isVisible());
  await page.close();
});

test('on a desktop: the list and the map side by side with no switch, each 16rem wide at least, every sort whole in its field, a focused row of the people seen whole', async () => {
  const id = await pamID();
  const page = await organizer.newPage();
  await page.goto(`${baseURL}/persons/${id}#token=${organizerToken}`);
  await page.getByRole('region', { name: "Map of Pam Trexler's meetings" }).waitFor();
  assert.ok(await page.getByRole('list', { name: 'People Pam Trexler met' }).isVisible());
  assert.equal(await page.getByRole('group', { name: 'Show' }).isVisible(), false, 'a List/Map switch beside both');
  // On a small laptop too, the map is no strip beside the list.
  await page.setViewportSize({ width: 1024, height: 768 });
  const [list, map] = await page.evaluate(() => ['.result-list', '.results .map'].map((s) => document.querySelector(s).getBoundingClientRect().width));
  assert.ok(map >= 256 && list >= 256, `the list ${list}px wide, the map ${map}px`);
  await page.setViewportSize({ width: 1440, height: 1000 });

  // The text of each option fits the select, less its padding and arrow.
  const cut = await page.getByLabel('Sort by').evaluate((select) => {
    const style = getComputedStyle(select);
    const text = document.createElement('canvas').getContext('2d');
    text.font = style.font;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
    return [...select.options].map((o) => o.text).filter((t) => text.measureText(t).width > room);
  });
  assert.deepEqual(cut, [], 'cut off in Sort by');

  // Tabbing into the people: the focused row's ring is neither under the
  // next row nor past the list's edges.
  await page.getByLabel('Search by name or company').focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const hidden = await page.evaluate(() => {
    const button = document.activeElement;
    const style = getComputedStyle(button);
    const ring = parseFloat(style.outlineOffset) + parseFloat(style.outlineWidth);
    const r = button.getBoundingClientRect();
    const list = button.closest('.person-scroll').getBoundingClientRect();
    const next = button.closest('li').nextElementSibling.querySelector('button').getBoundingClientRect();
    return { left: list.left - (r.left - ring), right: r.right + ring - list.right, bottom: r.bottom + ring - next.top };
  });
  for (const [edge, px] of Object.entries(hidden)) assert.ok(px <= 0, `${px}px of the ring's ${edge} hidden`);
  await page.close();
});

test('the people list draws a bounded number of rows with 2,000 people, and reads more as it scrolls', async () => {
  const stamp = Date.now();
  const names = Array.from({ length: 2000 }, (_, i) => ({ first_name: `Row${String(i).padStart(4, '0')}`, last_name: `Zz Crowd ${stamp}`, company_name: 'Crowd Inc' }));
  for (let i = 0; i < names.length; i += 25) await Promise.all(names.slice(i, i + 25).map((p) => api('POST', '/api/persons', p)));

  const page = await openApp();
  await page.getByLabel('Search by name or company').fill(`zz crowd ${stamp}`);
  await page.getByText(/^100 people and more found$/).waitFor();
  const rows = () => page.locator('.person-list li').count();
  const nodes = () => page.evaluate(() => document.querySelector('.person-scroll').querySelectorAll('*').length);
  assert.ok((await rows()) <= 30, `${await rows()} rows drawn`);
  assert.ok((await nodes()) < 500, `${await nodes()} nodes in the list`);
  // Scrolling to the end reads the next pages, a page at a time.
  for (let i = 0; i < 3; i++) await page.locator('.person-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await page.getByText(/^[2-9]\d\d people and more found$/).waitFor();
  assert.ok((await rows()) <= 30, `${await rows()} rows drawn`);
  assert.ok((await nodes()) < 500, `${await nodes()} nodes in the list`);
  await page.close();
});

test('a 200-character name does not widen a phone-sized page', async () => {
  const long = 'W'.repeat(200);
  const person = await api('POST', '/api/persons', { first_name: long, last_name: 'Long', company_name: 'C'.repeat(200) });
  await api('POST', '/api/locations', { person_id: person.id, latitude: 37.55363, longitude: -122.290883, creation_time: '2020-07-07T10:40:06Z' });
  const id = await pamID();
  const page = await openApp({ width: 390, height: 844 });
  await page.getByLabel('Search by name or company').fill('Long');
  await page.getByRole('button', { name: new RegExp(long) }).first().waitFor();
  await page.goto(`${baseURL}/persons/${id}?find=long`);
  await page.getByRole('list', { name: 'People Pam Trexler met' }).getByRole('button', { name: new RegExp(long) }).first().click();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  // The map is one tap away on a phone.
  await page.getByRole('button', { name: 'Map', exact: true }).click();
  await page.getByRole('region', { name: "Map of Pam Trexler's meetings" }).waitFor();
  await page.close();
});

test('on a phone, the map shown after the list frames every meeting', async () => {
  // Ann meets Ben, then Cy 600 m away, somewhere of their own; a clock's
  // report of now moves detection past them.
  const stamp = Date.now();
  const longitude = 2 + (stamp % 1000) / 1000;
  const person = (first) => api('POST', '/api/persons', { first_name: first, last_name: `Apart ${stamp}`, company_name: 'Booth 9' });
  const [a, b, c, clock] = [await person('Ann'), await person('Ben'), await person('Cy'), await person('Clock')];
  const minutesAgo = (m) => new Date(stamp - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const at = (p, latitude, m) => api('POST', '/api/locations', { person_id: p.id, latitude, longitude, creation_time: minutesAgo(m) });
  await at(clock, 48.8606, 0);
  await at(a, 48.85837, 20);
  await at(b, 48.85837, 19);
  await at(a, 48.86377, 10);
  await at(c, 48.86377, 9);

  const page = await organizer.newPage();
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`${baseURL}/persons/${a.id}#token=${organizerToken}`);
  await page.getByText(/^Met 2 people in 2 meetings/).waitFor();
  await page.getByRole('button', { name: 'Map', exact: true }).click();
  const map = page.getByRole('region', { name: `Map of Ann Apart ${stamp}'s meetings` });
  await map.locator('.leaflet-overlay-pane path').first().waitFor();
  // Both meetings drawn in the map's box (the clusters draw only those in
  // view), and the outline around them.
  const inView = (selector) =>
    map.evaluate((el, selector) => {
      const box = el.getBoundingClientRect();
      return [...el.querySelectorAll(selector)]
        .map((p) => p.getBoundingClientRect())
        .filter((r) => r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom).length;
    }, selector);
  assert.equal(await inView(`path[stroke="${colors.meeting}"]`), 2, 'meetings in view');
  assert.equal(await inView('.leaflet-overlay-pane path:not(.leaflet-interactive)'), 1, 'the outline in view');
  await page.close();
});

test('a failed reload keeps the old results on screen, dimmed', async () => {
  const id = await pamID();
  const page = await organizer.newPage();
  await page.goto(`${baseURL}/persons/${id}?find=taco#token=${organizerToken}`);
  const met = page.getByRole('list', { name: 'People Pam Trexler met' });
  await met.getByRole('button', { name: /Taco Fargo/ }).waitFor();
  await page.route(/\/api\/persons\/\d+\/meetings\?/, (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"the database is unavailable"}' }));
  await page.getByLabel('To (YYYY-MM-DD)').fill('2020-12-31');
  await page.getByRole('alert').filter({ hasText: 'could not be brought up to date' }).waitFor();
  assert.ok(await met.getByRole('button', { name: /Taco Fargo/ }).isVisible());
  assert.match(await page.locator('.results').getAttribute('class'), /stale/);
  await page.unroute(/\/api\/persons\/\d+\/meetings\?/);
  await page.getByRole('button', { name: 'Try again' }).click();
  await page.waitForFunction(() => !document.querySelector('.results.stale') && !document.querySelector('[role="alert"]'));
  await page.close();
});

// axe checks the page against WCAG 2.2 AA (axe-core, run in the page).
const axeSource = readFile(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
async function axe(page, view) {
  await page.evaluate(await axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } }),
  );
  const violations = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
  assert.deepEqual(violations, [], `${view}: ${violations.join('\n')}`);
}

test('no accessibility violations on any main view, as organizer and as attendee', async () => {
  const id = await pamID();
  const page = await openApp();
  await page.getByLabel('Search by name or company').fill('trexler');
  await page.getByRole('button', { name: /Pam Trexler/ }).waitFor();
  await axe(page, 'the people list');
  await page.locator('summary', { hasText: 'Register a person' }).click();
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByText('First name is required.').waitFor();
  await axe(page, 'the registration form with its problems');
  await page.goto(`${baseURL}/persons/${id}?with=${(await api('GET', '/api/persons?q=taco+fargo&limit=1'))[0].id}`);
  await page.getByRole('list', { name: 'Meetings with Taco Fargo' }).waitFor();
  await axe(page, 'a person’s view, a card open');
  await page.getByRole('link', { name: 'Every report' }).click();
  await page.locator('.summary').waitFor();
  await axe(page, 'every report');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${baseURL}/persons/${id}?show=map`);
  await page.getByRole('region', { name: "Map of Pam Trexler's meetings" }).waitFor();
  await axe(page, 'the map on a phone');
  await page.close();

  const person = await api('POST', '/api/persons', { first_name: 'Axe', last_name: `Attendee ${Date.now()}`, company_name: 'Harvard' });
  const context = await newContext();
  const hers = await context.newPage();
  await hers.goto(`${baseURL}/#token=${person.token}`);
  await hers.getByText(/No meetings of Axe/).waitFor();
  await axe(hers, 'an attendee’s view');
  await hers.getByRole('button', { name: 'Sign out' }).click();
  await hers.getByRole('button', { name: 'Sign in' }).waitFor();
  await axe(hers, 'the sign-in page');
  await context.close();
});

// A phone of an attendee, with the position granted and set where (and how
// precise) the test says.
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

// storedAt waits until the person has at least `least` stored reports
// within a metre of (latitude, longitude), and returns how many they have
// there. The door's 202 means a report is kept, not yet stored: it reaches
// the database through the broker a moment later.
async function storedAt(personID, { latitude, longitude }, least = 1) {
  const near = (l) => Math.abs(l.latitude - latitude) < 1e-5 && Math.abs(l.longitude - longitude) < 1e-5;
  let here = [];
  for (let i = 0; i < 150; i++) {
    here = (await api('GET', `/api/persons/${personID}/locations`)).filter(near);
    if (here.length >= least) return here.length;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${here.length} of ${least} reports of person ${personID} stored at ${latitude}, ${longitude}`);
}

test('an attendee shares their location from a phone: stored where it is, where it moves, after a spell offline once, after the page closed; Stop sharing stops it', async () => {
  const person = await api('POST', '/api/persons', { first_name: 'Phoebe', last_name: `Phone ${Date.now()}`, company_name: 'Booth 12' });
  // Somewhere the seed has no one; each step is 11 m north, 5 s or more
  // apart: a walk.
  const at = (step) => ({ latitude: 51.5007 + step * 0.0001, longitude: -0.1246, accuracy: 3 });
  const context = await newContext({ ...phone, geolocation: at(0) });
  await context.grantPermissions(['geolocation'], { origin: baseURL });
  const sent = []; // the content types of what the pages posted to /events
  const open = async (address) => {
    const page = await context.newPage();
    page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/events') && sent.push(r.headers()['content-type']));
    await page.goto(address);
    return [page, page.getByRole('region', { name: 'Your location' })];
  };
  let [page, sharing] = await open(`${baseURL}/#token=${person.token}`);

  // The first screen: the sharing, what it sends, to whom, how long, how to stop.
  await sharing.getByText('What is sent:').waitFor();
  await sharing.getByText('How to stop:').waitFor();
  await page.getByRole('button', { name: /^Filters/ }).waitFor();
  assert.equal(await page.getByLabel('Find a person').isVisible(), false, 'the filters are folded on a phone');
  await axe(page, 'an attendee’s phone, before sharing');
  await page.screenshot({ path: join(output, 'attendee-phone.png') });
  assert.equal(sent.length, 0);

  await sharing.getByRole('button', { name: 'Share my location' }).click();
  await sharing.getByText(/Last position precise to 3\.0 m, at .* Last report sent at/).waitFor();
  assert.equal(await storedAt(person.id, at(0)), 1);
  await axe(page, 'an attendee’s phone, sharing');
  await page.screenshot({ path: join(output, 'attendee-phone-sharing.png') });

  await context.setGeolocation(at(1));
  assert.equal(await storedAt(person.id, at(1)), 1);

  // Offline: the reports wait, then go as one batch, each stored once.
  await context.setOffline(true);
  await page.waitForTimeout(5_000); // the next report is due
  await context.setGeolocation(at(2));
  await sharing.getByText(/1 report waiting to be sent: the server cannot be reached/).waitFor();
  await page.waitForTimeout(5_000);
  await context.setGeolocation(at(3));
  await sharing.getByText(/2 reports waiting to be sent/).waitFor();
  await page.screenshot({ path: join(output, 'attendee-phone-offline.png') });
  await context.setOffline(false);
  assert.equal(await storedAt(person.id, at(2)), 1);
  assert.equal(await storedAt(person.id, at(3)), 1);
  await sharing.getByText(/waiting to be sent/).waitFor({ state: 'detached' });
  assert.ok(sent.includes('application/cloudevents-batch+json'), `sent as ${sent.join(', ')}`);

  // A report taken offline outlives the page: the next visit sends it,
  // though sharing is off after a reload the attendee did not ask to keep.
  await context.setOffline(true);
  await page.waitForTimeout(5_000);
  await context.setGeolocation(at(4));
  await sharing.getByText(/1 report waiting to be sent/).waitFor();
  await page.close();
  await context.setOffline(false);
  [page, sharing] = await open(`${baseURL}/`);
  assert.equal(await storedAt(person.id, at(4)), 1);
  await sharing.getByRole('button', { name: 'Share my location' }).waitFor();

  // Stopped, nothing more is sent, whatever the phone does.
  await sharing.getByRole('button', { name: 'Share my location' }).click();
  await sharing.getByText(/Last report sent at/).waitFor();
  await sharing.getByRole('button', { name: 'Stop sharing' }).click();
  await sharing.getByRole('button', { name: 'Share my location' }).waitFor();
  assert.equal(await storedAt(person.id, at(4), 2), 2, 'the report sent on sharing again, stored');
  const before = { posts: sent.length, stored: (await api('GET', `/api/persons/${person.id}/locations`)).length };
  await context.setGeolocation(at(5));
  await page.waitForTimeout(6_000);
  await context.setGeolocation(at(6));
  await page.waitForTimeout(6_000);
  assert.equal(sent.length, before.posts, 'posted after Stop sharing');
  assert.equal((await api('GET', `/api/persons/${person.id}/locations`)).length, before.stored);
  await context.close();
});

test('a denied location permission is said clearly', async () => {
  const person = await api('POST', '/api/persons', { first_name: 'Dan', last_name: `Denied ${Date.now()}`, company_name: 'Booth 3' });
  const context = await newContext(phone);
  const page = await context.newPage();
  await page.goto(`${baseURL}/#token=${person.token}`);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Browser.setPermission', { permission: { name: 'geolocation' }, setting: 'denied', origin: baseURL });
  await page.getByRole('button', { name: 'Share my location' }).click();
  await page.getByRole('alert').filter({ hasText: 'does not let the page know your location' }).waitFor();
  await page.getByRole('button', { name: 'Share my location' }).waitFor();
  await axe(page, 'an attendee’s phone, location denied');
  await context.close();
});

test('the web app is installable: its manifest and icons, served with their types', async () => {
  const page = await organizer.newPage();
  await page.goto(`${baseURL}/`);
  const manifest = await fetch(`${baseURL}/manifest.webmanifest`);
  assert.equal(manifest.headers.get('content-type'), 'application/manifest+json');
  const { icons, display, start_url: start } = await manifest.json();
  assert.equal(display, 'standalone');
  assert.equal(start, '/');
  for (const icon of icons) {
    const res = await fetch(new URL(icon.src, baseURL));
    assert.equal(res.headers.get('content-type'), icon.type, icon.src);
  }
  const cdp = await organizer.newCDPSession(page);
  const { errors } = await cdp.send('Page.getAppManifest');
  assert.deepEqual(errors, []);
  // A test's browser context is incognito, where nothing installs; that aside,
  // Chromium finds nothing wanting.
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors.filter((e) => e.errorId !== 'in-incognito'), []);
  await page.close();
});

test('no errors in the page, no dialog', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(dialogs, []);
});
