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
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  await page.goto(`${server.url}/sign-in`);
  await page.screenshot({ path: out('sign-in.png') });
  await page.getByLabel('Username').fill('dave');
  await page.getByLabel('Password').fill('dave-demo-pw');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.screenshot({ path: out('choose-phone.png') });
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: /•••• 4321/ }).click()]);
  await page.getByLabel('Code from the text message').waitFor();
  await page.screenshot({ path: out('code.png') });
} finally {
  await browser.close();
  await server.stop();
  await standin.stop();
}
