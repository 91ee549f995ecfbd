// The security page as a person uses it, in Chromium: add a phone (code read from the Twilio
// stand-in), rename, prefer, remove, 2-step sign-in off and on, forget a remembered browser —
// once hydrated and once with JavaScript disabled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitHydrated, press, useDemo } from '../lib/harness.mjs';

const demo = useDemo({
    // The tests text the demo people's phones within a minute of each other.
    LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0',
  });

async function run(js, login, phone, newNational, newMasked) {
  const context = await demo.browser.newContext({ javaScriptEnabled: js });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await demo.signIn(page, { login, phone, js, remember: js });

  await page.goto(`${demo.server.url}/security`);
  if (js) await waitHydrated(page);
  assert.equal(await page.getAttribute('[data-two-factor]', 'data-two-factor'), 'on');

  // Add a phone: country, number, code from the stand-in, a name.
  await press(page, page.getByRole('button', { name: 'Add a phone' }), js);
  await page.getByLabel('Country').selectOption('US');
  await page.getByLabel('Mobile number').fill(newNational);
  const before = await demo.codeCount(`+1${newNational.replace(/\D/g, '')}`);
  await press(page, page.getByRole('button', { name: 'Text me a code' }), js);
  const code = await demo.codeFor(`+1${newNational.replace(/\D/g, '')}`, before);
  await page.getByLabel('Code from the text message').fill(code);
  await page.getByLabel('Name (optional)').fill('Travel phone');
  await press(page, page.getByRole('button', { name: 'Add phone' }), js);
  await page.locator('[data-notice="security.phone_added"]').waitFor();
  const row = page.locator(`[data-phone="${newMasked}"]`);
  assert.equal(await row.getByTestId('phone-label').textContent(), 'Travel phone');

  // Rename it (the field opens in place, for this phone only), make it preferred.
  assert.equal(await row.getByRole('textbox').isVisible(), false, 'the name field starts closed');
  await row.locator('[data-action="rename"]').click();
  await row.getByRole('textbox').waitFor();
  if (js) {
    // Awake, the focus lands in the field; Escape closes it and gives the focus back.
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'nickname');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.activeElement?.dataset.action === 'rename');
    assert.equal(await row.getByRole('textbox').isVisible(), false, 'Escape closed it');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'nickname');
  }
  await row.getByRole('textbox').fill('Spare');
  await press(page, row.getByRole('button', { name: 'Save name' }), js);
  await page.locator('[data-notice="security.phone_renamed"]').waitFor();
  assert.equal(await page.locator(`[data-phone="${newMasked}"]`).getByTestId('phone-label').textContent(), 'Spare');
  await press(page, page.locator(`[data-phone="${newMasked}"]`).getByRole('button', { name: 'Make preferred' }), js);
  await page.locator('[data-notice="security.phone_preferred"]').waitFor();
  await page.locator(`[data-phone="${newMasked}"] [data-testid="preferred"]`).waitFor();

  // Remove it, through the confirmation.
  await press(page, page.locator(`[data-phone="${newMasked}"]`).getByRole('button', { name: 'Remove' }), js);
  const dialog = page.getByRole('alertdialog');
  await dialog.waitFor();
  await press(page, dialog.getByRole('button', { name: 'Remove phone' }), js);
  await page.locator('[data-notice="security.phone_removed"]').waitFor();
  assert.equal(await page.locator(`[data-phone="${newMasked}"]`).count(), 0);

  // 2-step sign-in off, then on again.
  await press(page, page.getByRole('button', { name: 'Turn off' }), js);
  await page.locator('[data-two-factor="off"]').waitFor();
  await press(page, page.getByRole('button', { name: 'Turn on' }), js);
  await page.locator('[data-two-factor="on"]').waitFor();

  if (js) {
    // The browser remembered at sign-in is listed and can be forgotten.
    const browsers = page.getByTestId('browsers');
    await browsers.waitFor();
    await press(page, browsers.getByRole('button', { name: 'Forget' }).first(), js);
    await page.locator('[data-notice="security.browsers_forgotten"]').waitFor();
    assert.equal(await page.getByTestId('browsers').count(), 0);
    // Every answer is a page of its own (the forms are not islands); its islands wake again.
    await waitHydrated(page);
    assert.equal(await page.getAttribute('[data-hydrated]', 'data-hydrated'), 'true');
  }
  assert.deepEqual(errors, []);
  await context.close();
}

test('hydrated: add, rename, prefer, remove a phone; 2-step off and on; forget the browser', async () => {
  await run(true, 'alice', '+12015550123', '201-555-0171', '•••• 0171');
});

test('without JavaScript: the same, as plain form posts', async () => {
  await run(false, 'carol', '+447400123456', '201-555-0172', '•••• 0172');
});

// Two browsers signed in as one person (bob: password only, so no text is spent):
// "Sign out of all other browsers" in one ends the other's session at its next page, and keeps
// this one signed in.
async function signOutOthers(js) {
  const here = await demo.browser.newContext({ javaScriptEnabled: js });
  const elsewhere = await demo.browser.newContext();
  const page = await here.newPage();
  const other = await elsewhere.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  for (const [p, hydrated] of [[other, true], [page, js]]) {
    await p.goto(`${demo.server.url}/sign-in`);
    if (hydrated) await waitHydrated(p);
    await p.getByLabel('Username').fill('bob');
    await p.getByLabel('Password').fill('bob-demo-pw');
    await press(p, p.getByRole('button', { name: 'Sign in' }), hydrated);
    await p.waitForURL(`${demo.server.url}/`);
    // Let the home page finish waking before leaving it: a wasm download cut short by the next
    // navigation holds Chromium's cache entry for the same file, and the next page's wasm can
    // then wait on that lock past any sensible timeout (seen once in CI).
    if (hydrated) await waitHydrated(p);
  }
  await page.goto(`${demo.server.url}/security`);
  if (js) await waitHydrated(page);

  await press(page, page.getByRole('button', { name: 'Sign out of all other browsers' }), js);
  await page.locator('[data-notice="security.sessions.signed_out_others"]').waitFor();

  // The other browser's next page asks it to sign in again, saying why.
  await other.goto(`${demo.server.url}/sign-in`);
  await other.locator('[data-notice="sign_in.session_ended"]').waitFor();
  assert.equal(await other.getByLabel('Username').count(), 1, 'the other browser must sign in again');
  // This one is still signed in.
  await page.goto(`${demo.server.url}/security`);
  assert.equal(await page.getByRole('button', { name: 'Sign out of all other browsers' }).count(), 1);
  assert.deepEqual(errors, []);
  await here.close();
  await elsewhere.close();
}

test('hydrated: signing out of all other browsers ends the other session, keeps this one', async () => {
  await signOutOthers(true);
});

test('without JavaScript: the same, as a plain form post', async () => {
  await signOutOthers(false);
});
