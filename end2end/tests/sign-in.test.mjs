// Signing in as a person would, in Chromium: password, then the code read from the Twilio
// stand-in (the "phone"), once hydrated and once with JavaScript disabled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitHydrated, useDemo } from '../lib/harness.mjs';

const demo = useDemo();

function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return errors;
}

test('hydrated: password, a code from the phone, remembered browser, sign out', async () => {
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  const alice = '+12015550123';
  const before = (await demo.standin.texts(alice)).length;

  const wasm = [];
  page.on('request', (r) => { if (r.url().endsWith('.wasm')) wasm.push(r.url()); });
  await page.goto(`${demo.server.url}/sign-in`);
  await page.waitForLoadState('networkidle');
  assert.deepEqual(wasm, [], 'the password step loads no wasm');

  // A wrong password first: one message, whatever was wrong.
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'The username or password is not right.' }).waitFor();

  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('alice-demo-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const codeInput = page.getByLabel('Code from the text message');
  await codeInput.waitFor();
  await waitHydrated(page); // the resend countdown is an island
  assert.equal(await codeInput.getAttribute('autocomplete'), 'one-time-code');
  assert.equal(await codeInput.getAttribute('inputmode'), 'numeric');
  assert.match(await page.textContent('[data-testid="code-phone"]'), /•••• 0123/);
  // The resend button counts down and is disabled until it may be used.
  const resend = page.getByTestId('resend');
  assert.match(await resend.textContent(), /Send a new code in \d+ s/);
  assert.equal(await resend.isDisabled(), true);

  // A wrong code says so, and the page stays.
  const code = await demo.codeFor(alice, before);
  await codeInput.fill(code === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('[data-notice="otp.wrong"]').waitFor();

  await codeInput.fill(code);
  await page.getByLabel(/Remember this browser for 30 days/).check();
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(`${demo.server.url}/`);
  await page.getByTestId('signed-in-as').filter({ hasText: 'Alice Anders' }).waitFor();

  // Sign out, and back in: the remembered browser skips the code.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL(`${demo.server.url}/sign-in`);
  await page.locator('[data-notice="sign_in.signed_out"]').waitFor();
  const texts = (await demo.standin.texts(alice)).length;
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('alice-demo-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${demo.server.url}/`);
  await page.locator('[data-method="password_and_remembered_browser"]').waitFor();
  assert.equal((await demo.standin.texts(alice)).length, texts, 'no text this time');
  assert.deepEqual(errors.filter((e) => !e.includes('favicon')), [], 'no errors in the console');
  await context.close();
});

test('without JavaScript: choose one of two phones, type the code, signed in', async () => {
  const context = await demo.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const preferredLater = '+447400654321';
  const before = (await demo.standin.texts(preferredLater)).length;

  await page.goto(`${demo.server.url}/sign-in`);
  await page.getByLabel('Username').fill('dave');
  await page.getByLabel('Password').fill('dave-demo-pw');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);

  // Two phones and nothing else: a masked list to choose from (a text or a call to each),
  // nothing sent yet.
  await page.getByRole('heading', { name: 'How do you want to sign in?' }).waitFor();
  const choices = await page.locator('[data-step="choose-method"] button').allTextContents();
  assert.equal(choices.length, 4);
  assert.ok(choices.every((c) => /^(Text|Call) •••• \d{4}/.test(c.trim())), `masked: ${choices}`);
  await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: /^Text •••• 4321/ }).click(),
  ]);

  const code = await demo.codeFor(preferredLater, before);
  await page.getByLabel('Code from the text message').fill(code);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Verify' }).click()]);
  assert.equal(page.url(), `${demo.server.url}/`);
  await page.locator('[data-method="password_and_sms"]').waitFor();
  assert.match(await page.textContent('[data-testid="signed-in-as"]'), /Dave Dias/);

  // Sign out works as a plain form too.
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);
  assert.equal(page.url(), `${demo.server.url}/sign-in`);
  await page.locator('[data-notice="sign_in.signed_out"]').waitFor();
  await context.close();
});

test('a cross-site form post to the sign-in is refused', async () => {
  const res = await fetch(`${demo.server.url}/api/sign_in_password`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    },
    body: 'username=bob&password=bob-demo-pw',
    redirect: 'manual',
  });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('set-cookie'), null);
});
