// The app shell in a real browser: hydration, the status page (an administrator's) hydrated and
// without JavaScript, the 404 page and the demo phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemo, launchBrowser, waitHydrated } from '../lib/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function checkedAt(page) {
  return Number(await page.getAttribute('[data-checked-at]', 'data-checked-at'));
}

// The demo phone first: its inbox is empty until the administrator below is texted a code.
test('the demo phone page is linked and shows its empty inbox', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await waitHydrated(page);
  await page.getByRole('link', { name: 'Demo phone' }).click();
  await page.waitForURL(/\/demo\/phone$/);
  await page.getByText('No texts yet').waitFor();
  await page.close();
});

let carol;

/** A new browser context signed in as carol, an administrator: the status page is hers. She
 *  signs in once, without JavaScript, reading her code on the demo phone; every context after
 *  that starts from her cookies. */
async function asAdministrator(options = {}) {
  if (!carol) {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.url}/sign-in`);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('carol-demo-pw');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
    const phone = await context.newPage();
    await phone.goto(`${server.url}/demo/phone`);
    const text = await phone.getByTestId('demo-text').first().textContent();
    await page.getByLabel('Code from the text message').fill(/#(\d{6})/.exec(text)[1]);
    await Promise.all([page.waitForURL(`${server.url}/`), page.getByRole('button', { name: 'Verify' }).click()]);
    carol = await context.storageState();
    await context.close();
  }
  return browser.newContext({ ...options, storageState: carol });
}

test('hydrated: "Check again" calls the server function and updates in place', async () => {
  const context = await asAdministrator();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto(`${server.url}/status`);
  await waitHydrated(page);
  assert.equal(await page.getAttribute('[data-testid="database"]', 'data-ok'), 'true');
  assert.equal(await page.getAttribute('[data-testid="directory"]', 'data-ok'), 'true');
  const first = await checkedAt(page);

  // A marker on window survives only if the page is not reloaded.
  await page.evaluate(() => { window.__noReload = true; });
  const call = page.waitForResponse((r) => r.url().includes('/api/check_system_status'));
  await page.getByRole('button', { name: 'Check again' }).click();
  const response = await call;
  assert.equal(response.status(), 200);
  await page.waitForFunction(
    (before) => Number(document.querySelector('[data-checked-at]')?.dataset.checkedAt) > before,
    first,
  );
  assert.equal(await page.evaluate(() => window.__noReload), true, 'no page reload');
  assert.deepEqual(errors, [], 'no errors in the browser console');
  await context.close();
});

test('without JavaScript: the same button posts the form and the page shows a fresh check', async () => {
  const context = await asAdministrator({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}/status`);
  assert.equal(await page.getAttribute('[data-hydrated]', 'data-hydrated'), 'false');
  const first = await checkedAt(page);
  await page.waitForTimeout(5); // checked_at has millisecond resolution
  await Promise.all([
    page.waitForURL(/\/status/),
    page.waitForLoadState('load'),
    page.getByRole('button', { name: 'Check again' }).click(),
  ]);
  await page.waitForSelector('[data-checked-at]');
  assert.ok((await checkedAt(page)) > first, 'a new check was rendered by the server');
  assert.equal(await page.getAttribute('[data-testid="directory"]', 'data-ok'), 'true');
  await context.close();
});

test('navigation links work hydrated, and styles are applied', async () => {
  const context = await asAdministrator();
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await waitHydrated(page);
  await page.getByRole('navigation').getByRole('link', { name: 'Status', exact: true }).click();
  await page.waitForURL(/\/status$/);
  await page.getByRole('heading', { name: 'System status' }).waitFor();
  // Tailwind's output is loaded: the primary button has its indigo background.
  const bg = await page.getByRole('button', { name: 'Check again' })
    .evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)', `button background ${bg}`);
  assert.equal(await page.getAttribute('a[href="/status"][aria-current="page"]', 'href'), '/status');
  await context.close();
});

test('the status page is for administrators: no link for anyone else, and a 403 that says so', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await waitHydrated(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Sign in' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Status' }).count(), 0, 'not in the navigation');
  const res = await page.goto(`${server.url}/status`);
  assert.equal(res.status(), 403);
  await page.locator('[role="alert"][data-notice="admin.forbidden"]').getByText('Only administrators can see this.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Check again' }).count(), 0, 'no check to run');
  assert.equal(await page.locator('[data-testid="database"]').count(), 0, 'no check shown');
  await page.close();
});

test('an unknown page is a 404 with a way back', async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${server.url}/no/such/page`);
  assert.equal(res.status(), 404);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await page.getByRole('link', { name: 'Go to the start page' }).click();
  await page.waitForURL(`${server.url}/`);
  await page.close();
});

test('the wasm loads only on a page with an island, brotli-compressed', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const loaded = [];
  page.on('request', (r) => { if (/\/pkg\/latchkey\.(js|wasm)$/.test(r.url())) loaded.push(r.url()); });
  // The password step has nothing interactive: HTML and CSS alone.
  await page.goto(`${server.url}/sign-in`);
  await page.waitForLoadState('networkidle');
  assert.equal(await page.locator('leptos-island').count(), 0);
  assert.deepEqual(loaded, [], 'no JS or wasm for the password step');
  // The demo phone's inbox is an island.
  const wasm = page.waitForResponse((r) => r.url().endsWith('/pkg/latchkey.wasm'));
  await page.goto(`${server.url}/demo/phone`);
  const response = await wasm;
  assert.equal((await response.allHeaders())['content-encoding'], 'br');
  await waitHydrated(page);
  await context.close();
});

test('branding: the configured name, logo and accent colour, within the page CSP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-brand-'));
  const logo = join(dir, 'logo.svg');
  writeFileSync(logo, '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="5" fill="#0b6e4f"/></svg>');
  const branded = await startDemo({
    LATCHKEY_SERVER__PRODUCT_NAME: 'Acme Account',
    LATCHKEY_SERVER__LOGO: logo,
    LATCHKEY_SERVER__ACCENT_COLOR: '#0b6e4f',
  });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`${branded.url}/sign-in`);
    await waitHydrated(page);
    assert.equal(await page.title(), 'Sign in · Acme Account');
    const button = page.getByRole('button', { name: 'Sign in' });
    assert.equal(await button.evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(11, 110, 79)');
    const img = page.locator('header img');
    assert.ok(await img.evaluate((i) => i.complete && i.naturalWidth > 0), 'the logo loaded');
    assert.equal(await page.locator('header a').first().textContent(), 'Acme Account');
    assert.deepEqual(errors, [], 'no CSP violation or other console error');
    await context.close();
  } finally {
    await branded.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
