// Accessibility in Chromium: every page passes axe-core (WCAG 2.1 A and AA rules) with no serious
// or critical violation, in light and in dark mode (the home page's checkup with a suggestion and
// with nothing to fix); no page scrolls sideways on a 360 px phone; and the flows can be
// completed with the keyboard alone (from the home page's checkup to the security page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { waitHydrated, useDemo } from '../lib/harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const DAVE_SECOND = '+447400654321';
const CAROL = '+447400123456';

const demo = useDemo({ LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0' });

/** Waits until the page has woken and stopped moving. Awake, a page may put the focus in a
 *  field, which scrolls it; axe measures where things are over several tasks, and a scroll in
 *  between once put the QR code's white square behind the (dark) header in its sums. */
async function settled(page) {
  // Waking is what may move the page; whether it wakes is other tests' business, so a page
  // that has not woken in time is audited as it is (and said so).
  await waitHydrated(page).catch((e) => console.log(`# audited without waiting to wake: ${e.message.split('\n')[0]}`));
  await page.evaluate(async () => {
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    let last = -1;
    for (let i = 0; i < 60 && window.scrollY !== last; i++) {
      last = window.scrollY;
      await frame();
      await frame();
    }
  });
}

/** Runs axe on the page as it is now, in light and dark mode; fails on serious or critical. */
async function audit(page, label) {
  await settled(page);
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    // DevTools evaluation is not subject to the page's CSP, so axe needs no script tag.
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
    // Once in CI, axe measured a dark-mode text colour against a white background right after
    // the switch. A violation is checked again once the page has settled and counts only if it
    // stays: a page that really fails, fails both times.
    let bad = await violations(page);
    if (bad.length > 0) {
      console.log(`# ${label} in ${colorScheme} mode: checking again once settled: ${bad}`);
      await settled(page);
      bad = await violations(page);
    }
    assert.deepEqual(bad, [], `${label} in ${colorScheme} mode`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function violations(page) {
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    resultTypes: ['violations'],
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`).join(' | ')}`);
}

/** A page at 360 px wide fits without a horizontal scrollbar. */
async function fitsPhone(page, label) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `${label} is ${width} px wide at a 360 px viewport`);
}

async function visit(page, label, check) {
  await audit(page, label);
  if (check) await fitsPhone(page, label);
}

async function signInDave(page, check) {
  await page.goto(`${demo.server.url}/sign-in`);
  await waitHydrated(page);
  await page.getByLabel('Username').fill('dave');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-notice="sign_in.failed"]').waitFor();
  await visit(page, 'sign-in with an error', check);
  await page.getByLabel('Password').fill('dave-demo-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-step="choose-method"]').waitFor();
  await visit(page, 'choose a phone', check);
  const before = await demo.codeCount(DAVE_SECOND);
  await page.getByRole('button', { name: /^Text •••• 4321/ }).click();
  await page.getByLabel('Code from the text message').waitFor();
  await visit(page, 'the code', check);
  await page.getByLabel('Code from the text message').fill(await demo.codeFor(DAVE_SECOND, before));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(`${demo.server.url}/`);
}

for (const [name, viewport, check] of [
  ['desktop', { width: 1280, height: 900 }, false],
  ['a 360 px phone', { width: 360, height: 740 }, true],
]) {
  test(`every page passes axe in light and dark mode (${name})`, async () => {
    const context = await demo.browser.newContext({ viewport });
    const page = await context.newPage();
    // `/status` signed out: the administrators-only refusal (403).
    for (const path of ['/', '/status', '/sign-in', '/no-such-page']) {
      await page.goto(`${demo.server.url}${path}`);
      await waitHydrated(page);
      await visit(page, path, check);
    }
    // The refused visit to `/status` would be where signing in goes on to.
    await context.clearCookies();
    await signInDave(page, check);
    await waitHydrated(page);
    await visit(page, 'home, signed in', check);
    await page.goto(`${demo.server.url}/security`);
    await waitHydrated(page);
    await visit(page, 'security', check);
    await page.getByRole('button', { name: 'Add a phone' }).click();
    await page.getByLabel('Mobile number').waitFor();
    await visit(page, 'add a phone', check);
    await page.getByLabel('Mobile number').fill('12');
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await page.locator('[role="alert"][data-notice]').waitFor();
    await visit(page, 'add a phone, with an error', check);
    // Each button here posts a form; the next click waits for the page it leads to, as a
    // person would, rather than starting a navigation while that page is still loading.
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByLabel('Mobile number').waitFor({ state: 'detached' });
    await waitHydrated(page);
    await page.getByRole('button', { name: 'Add an authenticator app' }).click();
    await page.locator('[data-testid="qr"] svg').waitFor();
    await visit(page, 'add an authenticator app', check);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.locator('[data-testid="qr"]').waitFor({ state: 'detached' });
    await waitHydrated(page);
    await page.getByRole('button', { name: 'Get new recovery codes' }).click();
    await page.locator('[data-recovery-code]').first().waitFor();
    await visit(page, 'recovery codes, shown once', check);
    // Two phones and recovery codes now: the checkup has nothing left to suggest.
    await page.goto(`${demo.server.url}/`);
    await page.locator('[data-suggestion="none"]').waitFor();
    await waitHydrated(page);
    await visit(page, 'home, nothing to fix', check);
    await context.close();

    const admin = await demo.browser.newContext({ viewport });
    const adminPage = await admin.newPage();
    await demo.signIn(adminPage, { login: 'carol', phone: CAROL });
    for (const path of ['/admin?q=da', '/admin/audit', '/status']) {
      await adminPage.goto(`${demo.server.url}${path}`);
      await waitHydrated(adminPage);
      await visit(adminPage, path, check);
    }
    await adminPage.goto(`${demo.server.url}/admin?q=dave`);
    await waitHydrated(adminPage);
    await adminPage.locator('[data-login="dave"]').getByRole('link', { name: 'dave' }).click();
    await adminPage.getByTestId('admin-phones').waitFor();
    await visit(adminPage, 'a person, as an administrator', check);
    await admin.close();
  });
}

/** Presses Tab until `locator` has the focus (the way a keyboard user reaches it); nothing when
 *  the page already put the focus there. Returns how many presses it took. */
async function tabTo(page, locator, max = 80) {
  await locator.waitFor();
  // A page that moves the focus itself does so in the next animation frame: let it, before
  // pressing Tab past the element it was about to focus.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const focused = () => locator.evaluate((el) => el === document.activeElement).catch(() => false);
  for (let i = 0; i < max; i++) {
    if (await focused()) return i;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${locator}`);
}

/** Waits for the page to move the focus to the element with `id`: it does so in the animation
 *  frame after the answer renders, so the new step can be on screen a moment before. */
async function focusLandsOn(page, id, message) {
  await page
    .waitForFunction((want) => document.activeElement?.id === want, id, { timeout: 5_000 })
    .catch(async () => {
      const actual = await page.evaluate(() => document.activeElement?.id ?? null);
      assert.fail(`${message}: the focus is on ${JSON.stringify(actual)}, not #${id}`);
    });
}

test('keyboard only: sign in, add and remove a phone, sign out', async () => {
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  const kb = page.keyboard;
  await page.goto(`${demo.server.url}/`);
  await waitHydrated(page);
  // The skip link comes first.
  await kb.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('href')), '#main');

  await tabTo(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sign in' }));
  await kb.press('Enter');
  await page.waitForURL(/\/sign-in$/);
  await waitHydrated(page);
  await tabTo(page, page.getByLabel('Username'));
  await kb.type('alice');
  await kb.press('Tab');
  await kb.type('not-her-password');
  await kb.press('Enter');
  // The error is announced and focus is where the person fixes it.
  await page.locator('[data-notice="sign_in.failed"]').waitFor();
  await focusLandsOn(page, 'username', 'focus returns to the username');
  await kb.press('Tab');
  await kb.type('alice-demo-pw');
  const before = await demo.codeCount('+12015550123');
  await kb.press('Enter');
  await page.getByLabel('Code from the text message').waitFor();
  await focusLandsOn(page, 'code', 'focus moves to the code');
  await kb.type(await demo.codeFor('+12015550123', before));
  await kb.press('Enter');
  await page.waitForURL(`${demo.server.url}/`);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Security' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Status' }).count(), 0, 'Status is for administrators');

  // The home page's checkup: its suggestion, then its phones line, which leads to the phones
  // on the security page.
  await tabTo(page, page.locator('[data-action="suggestion"]'));
  await tabTo(page, page.locator('[data-checkup="phones"]'));
  await kb.press('Enter');
  await page.waitForURL(/\/security#phones-title$/);
  await waitHydrated(page);
  await tabTo(page, page.getByRole('button', { name: 'Add a phone' }));
  await kb.press('Enter');
  await focusLandsOn(page, 'region', 'the new form has the focus');
  assert.equal(await tabTo(page, page.getByLabel('Country')), 0, 'the new form has the focus');
  await page.getByLabel('Country').selectOption('US'); // a select answers typing; this is its keyboard path
  await kb.press('Tab');
  await kb.type('201-555-0188');
  const added = await demo.codeCount('+12015550188');
  await kb.press('Enter');
  await tabTo(page, page.getByLabel('Code from the text message'));
  await kb.type(await demo.codeFor('+12015550188', added));
  await tabTo(page, page.getByLabel('Name (optional)'));
  await kb.type('Desk phone');
  await kb.press('Enter');
  await page.locator('[data-notice="security.phone_added"]').waitFor();

  const row = page.locator('[data-phone="•••• 0188"]');
  await tabTo(page, row.getByRole('button', { name: 'Remove' }));
  await kb.press('Enter');
  const dialog = page.getByRole('alertdialog');
  // The confirmation takes the focus on its safe choice; the destructive one is a Shift+Tab away.
  await dialog.getByRole('button', { name: 'Cancel' }).waitFor();
  await page.waitForFunction(() => document.activeElement?.textContent?.trim() === 'Cancel');
  await kb.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Remove phone');
  await kb.press('Enter');
  await page.locator('[data-notice="security.phone_removed"]').waitFor();

  await tabTo(page, page.getByRole('button', { name: 'Sign out', exact: true }));
  await kb.press('Enter');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sign in' }).waitFor();
  await context.close();
});

test('keyboard only: an administrator checks the status, finds a person and resets their 2-step sign-in', async () => {
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  const kb = page.keyboard;
  await page.goto(`${demo.server.url}/sign-in`);
  await waitHydrated(page);
  await tabTo(page, page.getByLabel('Username'));
  await kb.type('carol');
  await kb.press('Tab');
  await kb.type('carol-demo-pw');
  const before = await demo.codeCount(CAROL);
  await kb.press('Enter');
  await page.getByLabel('Code from the text message').waitFor();
  await kb.type(await demo.codeFor(CAROL, before));
  await kb.press('Enter');
  await page.waitForURL(`${demo.server.url}/`);

  // The status page, an administrator's: reached from the navigation, checked again by key.
  await tabTo(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Status' }));
  await kb.press('Enter');
  await page.waitForURL(/\/status$/);
  await waitHydrated(page);
  const first = Number(await page.getAttribute('[data-checked-at]', 'data-checked-at'));
  await tabTo(page, page.getByRole('button', { name: 'Check again' }));
  await kb.press('Enter');
  await page.waitForFunction(
    (before) => Number(document.querySelector('[data-checked-at]')?.dataset.checkedAt) > before,
    first,
  );
  assert.equal(await page.getAttribute('[data-testid="directory"]', 'data-ok'), 'true');

  await tabTo(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }));
  await kb.press('Enter');
  await page.waitForURL(/\/admin$/);
  await waitHydrated(page);
  await tabTo(page, page.getByLabel('Login, name or mail'));
  await kb.type('bob');
  await kb.press('Enter');
  await tabTo(page, page.locator('[data-login="bob"]').getByRole('link', { name: 'bob' }));
  await kb.press('Enter');
  await page.waitForURL(/\/admin\/person\//);
  await waitHydrated(page);
  const reset = page.locator('section', { has: page.getByRole('heading', { name: 'Reset to password-only' }) });
  await tabTo(page, reset.getByLabel(/Reason/));
  await kb.type('Lost phone, called the help desk');
  await tabTo(page, reset.getByLabel('I am sure'));
  await kb.press('Space');
  await kb.press('Tab');
  await kb.press('Enter');
  await page.locator('[data-notice="admin.reset_done"]').waitFor();
  await context.close();
});
