// Codes by voice call, as a person meets them in Chromium: the demo's `demo` provider "places"
// each call and the demo phone page shows what it said, so the code is read from a transcript
// ("Your Latchkey code is 4, 8, 1, 0, 2, 6. …"), the way a person listens for it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, waitHydrated, press } from '../lib/harness.mjs';

let server;
let browser;

before(async () => {
  // The tests ask for a call right after a text: no cooldown between them; and alice's number
  // gets two texts and two calls within ten minutes, one more than the default allows.
  server = await startDemo({
    LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0',
    LATCHKEY_SECURITY__SENDS_PER_NUMBER_PER_10MIN: '10',
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** What the demo phone shows for `to`, newest first: { kind, text } per entry. */
async function inbox(context, to) {
  const phone = await context.newPage();
  await phone.goto(`${server.url}/demo/phone`);
  const entries = await phone.locator(`[data-to="${to}"]`).evaluateAll((els) =>
    els.map((el) => ({ kind: el.dataset.kind, text: el.textContent })));
  await phone.close();
  return entries;
}

/** Waits for a call to `to` beyond the first `count` and returns the code it spoke, digit by
 *  digit ("4, 8, 1, 0, 2, 6"), said twice. */
async function calledCode(context, to, count) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const calls = (await inbox(context, to)).filter((e) => e.kind === 'call');
    if (calls.length > count) {
      const spoken = calls[0].text.match(/\d(?:, \d){5}/g);
      assert.ok(spoken && spoken.length === 2, `the code said twice: ${calls[0].text}`);
      assert.equal(spoken[0], spoken[1]);
      return spoken[0].replace(/\D/g, '');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no call to ${to}`);
}

async function callCount(context, to) {
  return (await inbox(context, to)).filter((e) => e.kind === 'call').length;
}

async function password(page, login, js) {
  await page.goto(`${server.url}/sign-in`);
  if (js) await waitHydrated(page);
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(`${login}-demo-pw`);
  await press(page, page.getByRole('button', { name: 'Sign in' }), js);
}

async function verify(page, code, js) {
  await page.locator('#code').fill(code);
  await press(page, page.getByRole('button', { name: 'Verify' }), js);
  await page.waitForURL(`${server.url}/`);
  await page.locator('[data-method="password_and_call"]').waitFor();
}

for (const js of [true, false]) {
  const how = js ? 'hydrated' : 'without JavaScript';

  test(`${how}: a landline gets a call; the code from its transcript signs lena in`, async () => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const landline = '+442079460018';
    const before = await callCount(context, landline);
    await password(page, 'lena', js);
    // One phone, a landline: it is called at once, and no text is ever sent to it.
    await page.locator('[data-channel="call"]').waitFor();
    assert.equal(await page.getByTestId('text-instead').count(), 0, 'a landline takes no texts');
    const code = await calledCode(context, landline, before);
    assert.equal((await inbox(context, landline)).filter((e) => e.kind === 'text').length, 0);
    await verify(page, code, js);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${how}: "Call me instead" after a text; only the call's code is good now`, async () => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const mobile = '+12015550123';
    const calls = await callCount(context, mobile);
    await password(page, 'alice', js);
    await page.locator('[data-channel="text"]').waitFor();
    const texts = (await inbox(context, mobile)).filter((e) => e.kind === 'text');
    const texted = /#(\d{6})/.exec(texts[0].text)[1];

    await press(page, page.getByTestId('call-instead'), js);
    await page.locator('[data-channel="call"]').waitFor();
    const code = await calledCode(context, mobile, calls);
    if (texted !== code) {
      // The texted code was replaced by the call's: one code per flow.
      await page.locator('#code').fill(texted);
      await press(page, page.getByRole('button', { name: 'Verify' }), js);
      await page.locator('[data-notice="otp.wrong"]').waitFor();
    }
    // After a call, the phone (a mobile) can have a text again.
    assert.equal(await page.getByTestId('text-instead').count(), 1);
    await verify(page, code, js);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('the chooser says which phones get a call, and a call to one of dave\'s phones works', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await password(page, 'dave', false);
  // Two mobiles: a text or a call to each.
  for (const way of ['choose-text-0', 'choose-call-0', 'choose-text-1', 'choose-call-1']) {
    assert.equal(await page.getByTestId(way).count(), 1, way);
  }
  const calls = await callCount(context, '+447400654321');
  await press(page, page.getByTestId('choose-call-1'), false);
  await verify(page, await calledCode(context, '+447400654321', calls), false);
  await context.close();
});

test('without JavaScript: bob adds a landline on the security page, proved by a call', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await password(page, 'bob', false);
  await page.waitForURL(`${server.url}/`);
  await page.goto(`${server.url}/security`);
  await press(page, page.getByRole('button', { name: 'Add a phone' }), false);
  await page.getByLabel('Country').selectOption('GB');
  await page.getByLabel('Mobile number').fill('020 7946 0123');
  const landline = '+442079460123';
  const calls = await callCount(context, landline);
  await press(page, page.getByRole('button', { name: 'Text me a code' }), false);
  // A landline takes no texts: the code comes by call, and the page says so.
  await page.locator('[data-channel="call"]').waitFor();
  await page.locator('#security-code').fill(await calledCode(context, landline, calls));
  await press(page, page.getByRole('button', { name: 'Add phone' }), false);
  await page.locator('[data-notice="security.phone_added"]').waitFor();
  await page.locator('[data-phone="•••• 0123"] [data-testid="landline"]').waitFor();
  assert.equal((await inbox(context, landline)).filter((e) => e.kind === 'text').length, 0);
  await context.close();
});
