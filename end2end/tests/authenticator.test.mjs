// Authenticator apps and recovery codes as people use them, in Chromium, with a real
// authenticator nobody here wrote: Debian's `oathtool` computes each code from the secret the
// page shows (read from the page, never from the database). Hydrated and without JavaScript:
// adding an app (its QR code and secret), preferring it, recovery codes shown once and used to
// sign in, signing in with the app, a person with only an app, and an administrator removing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { waitHydrated, press, useDemo } from '../lib/harness.mjs';

const demo = useDemo({ LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0' });

/** What the authenticator app shows now for `secret` (base32). */
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret]).toString().trim();

/** Waits for the next 30-second step: a step's code works once, and adding the app used one. */
async function nextStep() {
  const into = (Date.now() / 1000) % 30;
  await new Promise((r) => setTimeout(r, (30 - into + 1) * 1000));
}

async function openSecurity(page, js) {
  await page.goto(`${demo.server.url}/security`);
  if (js) await waitHydrated(page);
}

async function signInWithPassword(page, login, js) {
  await page.goto(`${demo.server.url}/sign-in`);
  if (js) await waitHydrated(page);
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(`${login}-demo-pw`);
  await press(page, page.getByRole('button', { name: 'Sign in' }), js);
}

async function signOut(page, js) {
  await press(page, page.getByRole('button', { name: 'Sign out', exact: true }), js);
  await page.waitForURL(/\/sign-in$/);
  // Hydrated, the sign-in page's own request settles before the next sign-in starts.
  if (js) await page.waitForLoadState('networkidle');
}

/** Adds an app on the security page; returns its secret as the page shows it. */
async function addApp(page, js, name) {
  await press(page, page.getByRole('button', { name: 'Add an authenticator app' }), js);
  const qr = page.locator('[data-testid="qr"] svg[role="img"]');
  await qr.waitFor();
  assert.ok((await qr.getAttribute('aria-label')).length > 0, 'the QR code is labelled');
  const secret = await page.locator('code[data-secret]').getAttribute('data-secret');
  assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit base32 secret');
  // The grouped form people type matches it.
  const shown = (await page.locator('code[data-secret]').textContent()).replace(/\s/g, '');
  assert.equal(shown, secret);
  // A wrong code first: refused, the same secret shown again.
  await page.getByLabel('Name (optional)').fill(name);
  const wrong = totp(secret) === '000000' ? '111111' : '000000';
  await page.getByLabel('Code the app shows').fill(wrong);
  await press(page, page.getByRole('button', { name: 'Add app' }), js);
  await page.locator('[data-notice="otp.app_wrong"]').waitFor();
  assert.equal(await page.locator('code[data-secret]').getAttribute('data-secret'), secret);
  await page.getByLabel('Code the app shows').fill(totp(secret));
  await press(page, page.getByRole('button', { name: 'Add app' }), js);
  await page.locator('[data-notice="security.app_added"]').waitFor();
  const row = page.locator('[data-testid="authenticators"] li').filter({ hasText: name });
  await row.waitFor();
  return { secret, row };
}

test('hydrated: alice adds an app, prefers it, signs in with a recovery code, then with the app', async () => {
  const js = true;
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await demo.signIn(page, { login: 'alice', phone: '+12015550123', js });
  await openSecurity(page, js);
  const texts = (await demo.standin.texts('+12015550123')).length;
  const { secret, row } = await addApp(page, js, 'Phone app');
  await press(page, row.getByRole('button', { name: 'Make preferred' }), js);
  await page.locator('[data-notice="security.app_preferred"]').waitFor();

  // Ten recovery codes, shown once, with a download of the same codes.
  await press(page, page.getByRole('button', { name: 'Get new recovery codes' }), js);
  const shown = page.locator('[data-recovery-code]');
  await shown.first().waitFor();
  const codes = (await shown.allTextContents()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  const href = await page.locator('a[download="recovery-codes.txt"]').getAttribute('href');
  for (const code of codes) assert.ok(decodeURIComponent(href).includes(code), code);
  await page.getByRole('button', { name: 'Copy' }).waitFor();
  await press(page, page.getByRole('button', { name: 'I have saved them' }), js);
  await page.locator('[data-recovery-remaining="10"]').waitFor();
  assert.equal(await page.locator('[data-recovery-code]').count(), 0, 'shown once');
  // The phone heard of the app and of the new codes.
  // The stand-in lists texts newest first.
  const all = await demo.standin.texts('+12015550123');
  const notices = all.slice(0, all.length - texts).map((t) => t.body);
  assert.ok(notices.some((b) => /authenticator app was added/.test(b)), notices.join('\n'));
  assert.ok(notices.some((b) => /New recovery codes/.test(b)), notices.join('\n'));
  await signOut(page, js);

  // The preferred app is asked for first; "Use another way" lists every way.
  await signInWithPassword(page, 'alice', js);
  await page.locator('[data-step="app-code"]').waitFor();
  await press(page, page.getByRole('button', { name: 'Use another way' }), js);
  const ways = page.locator('[data-step="choose-method"] [data-way]');
  await ways.first().waitFor();
  // A mobile: a text (`phone`) or, the demo placing calls, a call (`call`).
  assert.deepEqual(await ways.evaluateAll((b) => b.map((e) => e.dataset.way)), ['phone', 'call', 'app', 'recovery']);
  await press(page, page.getByRole('button', { name: 'Use a recovery code' }), js);
  await page.getByLabel('Recovery code').fill(codes[2].toLowerCase());
  await press(page, page.getByRole('button', { name: 'Verify' }), js);
  await page.waitForURL(`${demo.server.url}/security`);
  await page.locator('[data-notice="sign_in.recovery_used"]').waitFor();
  await page.locator('[data-recovery-remaining="9"]').waitFor();
  await signOut(page, js);

  // And with the app, once its next code is up (the one that added it was used).
  await nextStep();
  await signInWithPassword(page, 'alice', js);
  await page.getByLabel('6-digit code').fill(totp(secret));
  await press(page, page.getByRole('button', { name: 'Verify' }), js);
  await page.waitForURL(`${demo.server.url}/`);
  assert.equal(await page.getAttribute('[data-method]', 'data-method'), 'password_and_app');
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript: bob, with no phone, adds an app, turns 2-step on, signs in with it; an administrator removes it', async () => {
  const js = false;
  const context = await demo.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signInWithPassword(page, 'bob', js);
  await page.waitForURL(`${demo.server.url}/`);
  await openSecurity(page, js);
  const { secret } = await addApp(page, js, 'Laptop authenticator');
  await press(page, page.getByRole('button', { name: 'Turn on' }), js);
  await page.locator('[data-two-factor="on"]').waitFor();
  await signOut(page, js);

  // His only way is the app: asked for at once, no list, nothing texted.
  await nextStep();
  await signInWithPassword(page, 'bob', js);
  await page.locator('[data-step="app-code"]').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Use another way' }).count(), 0);
  await page.getByLabel('6-digit code').fill(totp(secret));
  await press(page, page.getByRole('button', { name: 'Verify' }), js);
  assert.equal(page.url(), `${demo.server.url}/`);
  await context.close();

  // Carol, an administrator, removes it with a reason.
  const admin = await demo.browser.newContext({ javaScriptEnabled: false });
  const a = await admin.newPage();
  await demo.signIn(a, { login: 'carol', phone: '+447400123456', js });
  await a.goto(`${demo.server.url}/admin`);
  await a.getByLabel('Login, name or mail').fill('bob');
  await press(a, a.getByRole('button', { name: 'Search' }), js);
  const person = a.locator('[data-login="bob"]');
  assert.equal(await person.locator('[data-apps]').getAttribute('data-apps'), '1');
  await press(a, person.getByRole('link', { name: 'bob' }), js);
  const app = a.locator('[data-testid="admin-authenticators"] li').filter({ hasText: 'Laptop authenticator' });
  await app.getByLabel('Reason (recorded in the audit trail)').fill('Laptop stolen');
  await app.getByLabel('I am sure').check();
  await press(a, app.getByRole('button', { name: 'Remove this app' }), js);
  await a.locator('[data-notice="admin.app_removed"]').waitFor();
  assert.equal(await a.locator('[data-testid="admin-authenticators"] li').count(), 0);
  await admin.close();

  // No factor left: 2-step sign-in is off, the password is enough again.
  const again = await demo.browser.newContext({ javaScriptEnabled: false });
  const b = await again.newPage();
  await signInWithPassword(b, 'bob', js);
  assert.equal(b.url(), `${demo.server.url}/`);
  await again.close();
});
