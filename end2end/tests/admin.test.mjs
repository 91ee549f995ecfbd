// An administrator in Chromium: finds a person, removes one of their phones with a reason, and
// that person's next sign-in no longer offers it — hydrated, and without JavaScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitHydrated, press, useDemo } from '../lib/harness.mjs';

const demo = useDemo({ LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0' });

const codes = async (to) => (await demo.standin.texts(to)).filter((t) => /#\d{6}$/.test(t.body.trim())).length;

async function removePhone(js, login, number) {
  const context = await demo.browser.newContext({ javaScriptEnabled: js });
  const page = await context.newPage();
  await demo.signIn(page, { login: 'carol', phone: '+447400123456', js });
  await press(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }), js);
  await page.waitForURL(/\/admin$/);
  if (js) await waitHydrated(page);
  await page.getByLabel('Login, name or mail').fill(login);
  await press(page, page.getByRole('button', { name: 'Search' }), js);
  await press(page, page.locator(`[data-login="${login}"]`).getByRole('link', { name: login }), js);
  await page.waitForURL(/\/admin\/person\//);
  if (js) await waitHydrated(page);
  const row = page.locator(`[data-number="${number}"]`);
  await row.getByLabel('Reason (recorded in the audit trail)').fill('Phone reported lost');
  await row.getByLabel('I am sure').check();
  await press(page, row.getByRole('button', { name: 'Remove this phone' }), js);
  await page.locator('[data-notice="admin.phone_removed"]').waitFor();
  assert.equal(await page.locator(`[data-number="${number}"]`).count(), 0);
  await context.close();
}

test('hydrated: an administrator removes one of dave\'s phones; his sign-in no longer offers it', async () => {
  await removePhone(true, 'dave', '+447400654321');
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${demo.server.url}/sign-in`);
  await waitHydrated(page);
  await page.getByLabel('Username').fill('dave');
  await page.getByLabel('Password').fill('dave-demo-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // One phone left: no list to choose from, the code goes to it at once.
  await page.getByLabel('Code from the text message').waitFor();
  assert.match(await page.textContent('[data-testid="code-phone"]'), /•••• 0142/);
  assert.equal(await page.getByText('•••• 4321').count(), 0);
  await context.close();
});

test('without JavaScript: removing alice\'s only phone turns her 2-step sign-in off', async () => {
  await removePhone(false, 'alice', '+12015550123');
  const context = await demo.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${demo.server.url}/sign-in`);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('alice-demo-pw');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
  // 2-step sign-in was turned off with her last phone: the password is enough now.
  assert.equal(page.url(), `${demo.server.url}/`);
  await context.close();
});
