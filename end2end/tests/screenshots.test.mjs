// The README's screenshots, taken by the end-to-end suite from a demo so they always show the
// pages as they are: sign-in, choosing a phone, the code, the security page, the administrator's
// people search, a person and the audit trail (with an administrator's change); a phone-sized and a dark, Spanish sign-in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, press, useDemo } from '../lib/harness.mjs';

const DIR = join(ROOT, 'docs', 'screenshots');
const demo = useDemo({ LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0' });

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
  if (shots) {
    await shoot(page, 'choose-phone.png');
    await press(page, page.getByRole('button', { name: /•••• 4321/ }), false);
    await shoot(page, 'code.png');
  }
  await page.getByLabel('Code from the text message').fill(await demo.codeFor(phone, before));
  await press(page, page.getByRole('button', { name: 'Verify' }), false);
}

test('screenshots of a person signing in and their security page', async () => {
  const context = await demo.browser.newContext({ javaScriptEnabled: false, viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  await signIn(page, 'dave', '+447400654321', true);
  await page.goto(`${demo.server.url}/security`);
  await page.setViewportSize({ width: 900, height: 1100 });
  await shoot(page, 'security.png', true);
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
