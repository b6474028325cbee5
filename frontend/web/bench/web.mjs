// Web measures (docs/design.md, "The web app"): the web app in Debian's
// Chromium against a running system at BASE_URL, signed in with the
// organizer's token, on the desktop CPU and 4× throttled. Prints JSON:
//
//   BASE_URL=http://127.0.0.1:8080 ORGANIZER_TOKEN=... PERSON_ID=42 node bench/web.mjs
//
// For each CPU: list_usable_ms, from navigation until the people list shows
// rows; keystroke_ms, from a keystroke in its search until the list shows
// the answer; person_view_ms, from navigation to PERSON_ID's page until its
// summary, cards and map are there; longest_task_ms, the longest task while
// the distance of the per-report view changes to 50 m, and of the
// encounters' "closest within" (longest_task_filter_ms); list_dom_nodes,
// the elements of the people list scrolled halfway. SCREENSHOTS=dir writes
// the person's view at 1440×900 and 390×844 there.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const baseURL = (process.env.BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const token = process.env.ORGANIZER_TOKEN ?? '';
const personID = Number(process.env.PERSON_ID);
const screenshots = process.env.SCREENSHOTS ?? '';
if (!token || !(personID > 0)) {
  console.error('set BASE_URL, ORGANIZER_TOKEN and PERSON_ID (a busy attendee)');
  process.exit(2);
}
const timeout = 120_000;

// observe starts recording long tasks in the page (PerformanceObserver).
const observeLongTasks = () => {
  window.__longest = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
  }).observe({ type: 'longtask', buffered: false });
};

async function measure(browser, rate) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC' });
  context.setDefaultTimeout(timeout);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  // Sign in once: the measures start from a session cookie, as a return visit.
  await page.goto(`${baseURL}/#token=${token}`);
  await page.locator('.person-list li').first().waitFor();
  const m = { cpu_slowdown: rate };

  // Navigation until the people list is usable.
  await page.goto(`${baseURL}/`);
  m.list_usable_ms = await page.waitForFunction(() => document.querySelector('.person-list li button') && performance.now(), null, { polling: 'raf' }).then((h) => h.jsonValue());

  // A keystroke in the search until the list shows its answer.
  const search = page.getByLabel('Search by name or company');
  await search.fill('');
  await page.waitForFunction(() => !document.querySelector('.person-scroll.stale'));
  m.keystroke_ms = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const input = document.getElementById('people-search');
        let typed = 0;
        const done = () => {
          const count = document.querySelector('.people .count')?.textContent ?? '';
          if (typed && count.endsWith('found') && !document.querySelector('.person-scroll.stale')) {
            observer.disconnect();
            resolve(performance.now() - typed);
          }
        };
        const observer = new MutationObserver(done);
        observer.observe(document.querySelector('.people'), { subtree: true, childList: true, characterData: true, attributes: true });
        input.addEventListener('input', (e) => (typed = e.timeStamp), { once: true });
        input.focus();
        // A keystroke as the browser delivers it: the value, then input.
        const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
        set.call(input, 'a');
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }),
  );

  // The people list's DOM, scrolled halfway through what is loaded.
  await search.fill('');
  await page.waitForFunction(() => !document.querySelector('.person-scroll.stale') && document.querySelector('.person-list li'));
  await page.locator('.person-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight / 2));
  await page.waitForTimeout(300);
  m.list_dom_nodes = await page.locator('.person-scroll').evaluate((el) => el.querySelectorAll('*').length + 1);

  // The busiest attendee's view, complete.
  await page.goto(`${baseURL}/persons/${personID}`);
  m.person_view_ms = await page
    .waitForFunction(
      () => document.querySelector('.summary') && document.querySelector('.group-list li') && document.querySelector('.leaflet-marker-icon, .leaflet-interactive') && performance.now(),
      null,
      { polling: 'raf' },
    )
    .then((h) => h.jsonValue());
  m.summary = await page.locator('.summary').textContent();

  // The longest task while the encounters' distance filter becomes 50 m.
  await page.evaluate(observeLongTasks);
  await page.getByLabel('Closest within (m)').fill('50');
  await page.waitForTimeout(1500);
  m.longest_task_filter_ms = await page.evaluate(() => window.__longest);

  // The longest task while the per-report view's distance becomes 50 m.
  await page.getByRole('link', { name: 'Every report' }).click();
  await page.locator('.result-list .summary, .result-list .state').first().waitFor();
  await page.evaluate(observeLongTasks);
  await page.getByLabel('Distance (m)').fill('50');
  // The answer, or the server's refusal of a query that finds too much.
  const answer = page.getByText(/within 50 m/).or(page.locator('.result-list .state.error')).first();
  await answer.waitFor();
  await page.waitForTimeout(1500);
  m.longest_task_ms = await page.evaluate(() => window.__longest);
  m.reports_at_50m = (await answer.textContent()).trim();
  await context.close();
  return m;
}

async function shoot(browser) {
  await mkdir(screenshots, { recursive: true });
  for (const [name, viewport] of [
    ['web-desktop.png', { width: 1440, height: 900 }],
    ['web-phone.png', { width: 390, height: 844 }],
  ]) {
    const context = await browser.newContext({ viewport, timezoneId: 'UTC', deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${baseURL}/#token=${token}`);
    await page.locator('.person-list li').first().waitFor();
    await page.goto(`${baseURL}/persons/${personID}`);
    await page.locator('.group-list li').first().waitFor();
    await page.locator('.group-list li button.group').first().click();
    await page.locator('.meetings').first().waitFor();
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(screenshots, name) });
    await context.close();
  }
}

// Only BASE_URL's host is reached: the browser's resolver finds no other
// (the map's tiles), as on a machine without a network. Refusing them by
// routing every request through Playwright instead would add its round trip
// to each request the measures wait for.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${new URL(baseURL).hostname}`,
  ],
});
try {
  const desktop = await measure(browser, 1);
  const throttled = await measure(browser, 4);
  if (screenshots) await shoot(browser);
  const version = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).version;
  console.log(JSON.stringify({ app_version: version, browser: browser.version(), desktop, throttled }));
} finally {
  await browser.close();
}
