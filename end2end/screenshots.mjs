// Takes the README's screenshots from a running demo: `node end2end/screenshots.mjs`.
// Not a test; run by hand after a visible change (see README, "Screenshots").
import { startDemo, launchBrowser, startTwilioStandin } from './lib/harness.mjs';
import { join } from 'node:path';
import { ROOT } from './lib/harness.mjs';

const out = (name) => join(ROOT, 'docs', 'screenshots', name);
const standin = await startTwilioStandin();
const server = await startDemo({
  LATCHKEY_SMS__PROVIDER: 'twilio',
  LATCHKEY_SMS__TWILIO__ACCOUNT_SID: standin.accountSid,
  LATCHKEY_SMS__TWILIO__AUTH_TOKEN: standin.authToken,
  LATCHKEY_SMS__TWILIO__FROM: '+15017122661',
  LATCHKEY_SMS__TWILIO__BASE_URL: standin.url,
});
const browser = await launchBrowser();
try {
  // Without JavaScript: every step is a page load, easy to wait for; the pages look the same.
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/sign-in`);
  await page.screenshot({ path: out('sign-in.png') });
  await page.getByLabel('Username').fill('dave');
  await page.getByLabel('Password').fill('dave-demo-pw');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.screenshot({ path: out('choose-phone.png') });
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: /•••• 4321/ }).click()]);
  await page.getByLabel('Code from the text message').waitFor();
  await page.screenshot({ path: out('code.png') });
  const texts = await standin.texts('+447400654321');
  const code = /#(\d{6})$/.exec(texts[0].body.trim())[1];
  await page.getByLabel('Code from the text message').fill(code);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Verify' }).click()]);
  await page.goto(`${server.url}/security`);
  await page.setViewportSize({ width: 900, height: 1100 });
  await page.screenshot({ path: out('security.png'), fullPage: true });
} finally {
  await browser.close();
  await server.stop();
  await standin.stop();
}
