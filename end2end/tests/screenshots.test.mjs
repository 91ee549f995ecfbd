// The README's screenshots, taken by the end-to-end suite from a demo so they always show the
// pages as they are: the start page's security checkup, sign-in, adding an authenticator app
// (its QR code), choosing a way to sign in, the code, the security page, the administrator's
// people search, a person and the audit trail (with an administrator's change); a phone-sized and a dark, Spanish sign-in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, press, useDemo } from '../lib/harness.mjs';

const DIR = join(ROOT, 'docs', 'screenshots');
// Dave is texted a code, then notices of his new app and recovery codes, then a code again:
// more than the default three texts to one number in ten minutes.
const demo = useDemo({
  LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0',
  LATCHKEY_SECURITY__SENDS_PER_NUMBER_PER_10MIN: '10',
});

async function shoot(page, name, fullPage = false) {
  const path = join(DIR, name);
  await page.screenshot({ path, fullPage });
  assert.ok(statSync(path).size > 5_000, `${name} has content`);
}

/** Signs in without JavaScript: every step is a page load, easy to wait for. */
async function signIn(page, login, phone, shots) {
  await page.goto(`${demo.server.url}/sign-in`);
  if (shots) await shoot(page, 'sign-in.png');
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(`${login}-demo-pw`);
  const before = await demo.codeCount(phone);
  await press(page, page.getByRole('button', { name: 'Sign in' }), false);
  // Several ways: the list, then a text to the phone ending 4321.
  if (await page.locator('[data-step="choose-method"]').count()) {
    if (shots) await shoot(page, 'choose-method.png');
    await press(page, page.getByRole('button', { name: /^Text •••• 4321/ }), false);
  }
  if (shots) await shoot(page, 'code.png');
  await page.getByLabel('Code from the text message').fill(await demo.codeFor(phone, before));
  await press(page, page.getByRole('button', { name: 'Verify' }), false);
}

test('screenshots of a person adding an app, signing in, and their security page', async () => {
  const context = await demo.browser.newContext({ javaScriptEnabled: false, viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  await signIn(page, 'dave', '+447400654321', false);
  // The start page's security checkup, as dave first sees it: two phones, and one suggestion.
  await page.locator('[data-suggestion="get_recovery_codes"]').waitFor();
  await page.setViewportSize({ width: 900, height: 1000 });
  await shoot(page, 'home.png', true);
  await page.setViewportSize({ width: 900, height: 640 });
  // An authenticator app and recovery codes first, so the ways to sign in show them all.
  await page.goto(`${demo.server.url}/security`);
  await press(page, page.getByRole('button', { name: 'Add an authenticator app' }), false);
  await page.locator('[data-testid="qr"] svg').waitFor();
  await page.setViewportSize({ width: 900, height: 1000 });
  await shoot(page, 'add-app.png', true);
  const secret = await page.locator('code[data-secret]').getAttribute('data-secret');
  await page.getByLabel('Name (optional)').fill('Phone authenticator');
  await page.getByLabel('Code the app shows').fill(execFileSync('oathtool', ['--totp', '-b', secret]).toString().trim());
  await press(page, page.getByRole('button', { name: 'Add app' }), false);
  await page.locator('[data-notice="security.app_added"]').waitFor();
  await press(page, page.getByRole('button', { name: 'Get new recovery codes' }), false);
  await page.locator('[data-recovery-code]').first().waitFor();
  await shoot(page, 'recovery-codes.png', true);
  await press(page, page.getByRole('button', { name: 'I have saved them' }), false);
  await page.setViewportSize({ width: 900, height: 1100 });
  await shoot(page, 'security.png', true);
  await press(page, page.getByRole('button', { name: 'Sign out', exact: true }), false);
  await page.setViewportSize({ width: 900, height: 640 });
  await signIn(page, 'dave', '+447400654321', true);
  await context.close();
});

test('screenshots of the administrator pages', async () => {
  const context = await demo.browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  await signIn(page, 'carol', '+447400123456', false);
  await page.goto(`${demo.server.url}/admin?q=a`);
  await shoot(page, 'admin-people.png');
  await page.goto(`${demo.server.url}/admin?q=dave`);
  await press(page, page.locator('[data-login="dave"]').getByRole('link', { name: 'dave' }), false);
  await page.setViewportSize({ width: 1000, height: 1100 });
  await shoot(page, 'admin-person.png', true);
  // An administrator's change, so the trail shows whom it was made to.
  const reset = page.locator('section', { has: page.getByRole('heading', { name: 'Reset to password-only' }) });
  await reset.getByLabel(/Reason/).fill('New phone, ticket 4711');
  await reset.getByLabel('I am sure').check();
  await press(page, reset.getByRole('button', { name: 'Reset to password-only' }), false);
  await page.locator('[data-notice="admin.reset_done"]').waitFor();
  await page.setViewportSize({ width: 1000, height: 700 });
  await page.goto(`${demo.server.url}/admin/audit`);
  await shoot(page, 'admin-audit.png');
  await context.close();
});

test('screenshots on a phone and in dark mode, in Spanish', async () => {
  const phone = await demo.browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 740 } });
  const small = await phone.newPage();
  await small.goto(`${demo.server.url}/sign-in`);
  await shoot(small, 'sign-in-phone.png');
  await phone.close();
  const dark = await demo.browser.newContext({
    javaScriptEnabled: false, colorScheme: 'dark', locale: 'es-ES', viewport: { width: 900, height: 640 },
  });
  const page = await dark.newPage();
  await page.goto(`${demo.server.url}/sign-in`);
  assert.equal(await page.getAttribute('html', 'lang'), 'es');
  await shoot(page, 'sign-in-dark-es.png');
  await dark.close();
});
