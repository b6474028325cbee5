// End to end: the web app in Debian's Chromium against a running stack
// (`make run`) at BASE_URL. Writes screenshots to test-output/.
//
//   BASE_URL=http://127.0.0.1:8080 npm run e2e
//
// Only BASE_URL is reached: every other request (map tiles) is refused, as
// it would be on a machine without a network, and the map must still show
// its points.
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const baseURL = (process.env.BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const output = new URL('../test-output/', import.meta.url).pathname;
const timeout = 15_000;

let profile;
let context;
const pageErrors = [];

before(async () => {
  const res = await fetch(`${baseURL}/api/persons`).catch((err) => err);
  if (!(res instanceof Response) || !res.ok) {
    throw new Error(`no UdaConnect answers at ${baseURL}/api/persons (${res instanceof Response ? res.status : res.message}); start it with make run or set BASE_URL`);
  }
  await access(executablePath).catch(() => {
    throw new Error(`no browser at ${executablePath}: install Debian's with apt-get install -y chromium, or set CHROMIUM`);
  });
  await mkdir(output, { recursive: true });
  profile = await mkdtemp(join(tmpdir(), 'udaconnect-e2e-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 1000 },
  });
  context.setDefaultTimeout(timeout);
  const origin = new URL(baseURL).origin;
  await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin ? route.continue() : route.abort()));
  context.on('weberror', (e) => pageErrors.push(e.error().message));
});

after(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

async function openApp(viewport) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(baseURL);
  return page;
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

test('Pam Trexler’s connections from the seed, on the map; the distance changes them', async () => {
  const page = await openApp();
  await page.getByRole('button', { name: /Pam Trexler/ }).click();
  await page.getByRole('heading', { name: 'Whom Pam Trexler met' }).waitFor();

  // The controls start at her data's range, 5 m and 15 minutes.
  assert.match(await page.getByLabel('From').inputValue(), /^\d{4}-\d{2}-\d{2}$/);
  assert.match(await page.getByLabel('To').inputValue(), /^\d{4}-\d{2}-\d{2}$/);
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

  // It was stored, not only shown.
  await page.reload();
  await page.getByRole('button', { name: new RegExp(`Ada ${last}`) }).waitFor();
  await page.close();
});

test('no errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
