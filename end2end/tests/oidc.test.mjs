// Latchkey as an OpenID Connect provider, in Chromium, with two apps that sign in through it
// (end2end/demo-app/app.mjs: npm `openid-client`, a relying-party library nobody here wrote):
// app A asks for the code level (`acr_values=twilio_sms`), app B for nothing (the password
// level). A person signs in at A with the password and a texted code; B lets them straight in
// without a new text; B with prompt=login asks for the password again; signing out of A
// (RP-initiated logout) ends the Latchkey sign-in, so B's next sign-in asks again. The Latchkey
// pages run hydrated and with JavaScript disabled; the apps' pages are plain HTML either way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useDemo, freePort, startDemoApp, waitHydrated, press } from '../lib/harness.mjs';

// `--oidc-demo-app` registers demo-app-a for A and demo-app-b for B, on ports chosen before
// Latchkey starts (their redirect URIs are in its configuration). The two runs text two
// people's phones within a minute.
let A;
let B;
const demo = useDemo({ LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0' }, async () => {
  const portA = await freePort();
  let portB = await freePort();
  while (portB === portA) portB = await freePort();
  A = `http://127.0.0.1:${portA}`;
  B = `http://127.0.0.1:${portB}`;
  return ['--oidc-demo-app', A, '--oidc-demo-app', B];
});
const apps = {};
before(async () => {
  await demo.ready;
  const issuer = demo.server.url;
  apps.a = await startDemoApp({ issuer, url: A, clientId: 'demo-app-a', acrValues: 'twilio_sms', name: 'Demo app A' });
  apps.b = await startDemoApp({ issuer, url: B, clientId: 'demo-app-b', name: 'Demo app B' });
});
after(async () => {
  await apps.a?.stop();
  await apps.b?.stop();
});

/** Every code text `phone` has received so far. */
async function textsTo(phone) {
  return (await demo.standin.texts(phone)).length;
}

/** On Latchkey's sign-in page: the password, then the code texted to `phone`; back at `app`. */
async function passwordAndCode(page, { login, phone, js, app }) {
  const texts = await demo.codeCount(phone);
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(`${login}-demo-pw`);
  await press(page, page.getByRole('button', { name: 'Sign in' }), js);
  await page.getByLabel('Code from the text message').fill(await demo.codeFor(phone, texts));
  await press(page, page.getByRole('button', { name: 'Verify' }), js);
  await page.waitForURL(`${app}/`);
  await page.getByTestId('signed-in').waitFor();
}

/** What the app's page says: { acr, amr, sid, username }. */
async function signedInAs(page) {
  return {
    acr: await page.getByTestId('acr').textContent(),
    amr: (await page.getByTestId('amr').textContent()).split(' '),
    sid: await page.getByTestId('sid').textContent(),
    username: await page.getByTestId('username').textContent(),
  };
}

/** At `app`'s post-logout page, with the state it sent (so back from Latchkey's logout). */
async function signedOutAt(page, app) {
  await page.getByTestId('logged-out').waitFor();
  const url = new URL(page.url());
  assert.equal(`${url.origin}${url.pathname}`, `${app}/signed-out`);
  assert.equal(
    await page.getByTestId('logged-out').textContent(),
    'You are signed out of this app and of Latchkey.',
  );
}

async function run(js, person) {
  const context = await demo.browser.newContext({ javaScriptEnabled: js });
  const page = await context.newPage();
  // A form whose answer redirects to an app can be stopped by the page's Content-Security-Policy
  // (form-action); the browser then only says so in the console, so a failure names it.
  const csp = [];
  page.on('console', (m) => { if (m.text().includes('Content Security Policy')) csp.push(m.text()); });
  try {
    await flow(page, js, person);
  } catch (e) {
    // A blocked post fails the step at once; the console line may come a moment later.
    if (!csp.length) {
      await page.waitForEvent('console', {
        predicate: (m) => m.text().includes('Content Security Policy'),
        timeout: 1000,
      }).catch(() => {});
    }
    if (csp.length) e.message += `\nContent-Security-Policy violations in the browser:\n${csp.join('\n')}`;
    throw e;
  } finally {
    await context.close();
  }
}

async function flow(page, js, { login, phone }) {
  const latchkey = demo.server.url;
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Which Latchkey pages the browser loads (documents only, not assets or server functions).
  const visited = [];
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.url().startsWith(latchkey)) visited.push(new URL(r.url()).pathname);
  });

  // App A: nobody signed in. "Sign in" leads to Latchkey's sign-in page.
  await page.goto(`${A}/`);
  await page.getByTestId('signed-out').waitFor();
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${latchkey}/sign-in`);
  if (js) await waitHydrated(page);
  await passwordAndCode(page, { login, phone, js, app: A });
  const atA = await signedInAs(page);
  assert.equal(atA.acr, 'twilio_sms', 'A gets back the acr it asked for');
  assert.deepEqual(atA.amr, ['pwd', 'sms', 'mfa']);
  assert.equal(atA.username, login);

  // App B (password level): straight back, signed in — no Latchkey page, no new text.
  const texts = await textsTo(phone);
  visited.length = 0;
  await page.goto(`${B}/`);
  await page.getByTestId('signed-out').waitFor();
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('signed-in').waitFor();
  assert.equal(page.url(), `${B}/`);
  assert.deepEqual(visited, ['/oidc/authorize'], 'single sign-on: no sign-in page on the way');
  assert.equal(await textsTo(phone), texts, 'no text for B');
  const atB = await signedInAs(page);
  assert.equal(atB.acr, 'urn:latchkey:acr:password', 'B gets the level it asked for');
  assert.deepEqual(atB.amr, ['pwd', 'sms', 'mfa'], 'amr says how the person really signed in');
  assert.equal(atB.sid, atA.sid, 'one Latchkey sign-in behind both apps');

  // App B with prompt=login: the password form again, although the person is signed in.
  await page.getByRole('link', { name: 'Sign in again (prompt=login)' }).click();
  await page.waitForURL(`${latchkey}/sign-in`);
  if (js) await waitHydrated(page);
  await page.getByLabel('Password').waitFor();
  await passwordAndCode(page, { login, phone, js, app: B });
  const again = await signedInAs(page);
  assert.equal(again.acr, 'urn:latchkey:acr:password');
  assert.equal(again.username, login);
  assert.notEqual(again.sid, atA.sid, 'prompt=login is a new Latchkey sign-in');

  // Sign out at app A: RP-initiated logout with A's ID token as the hint. prompt=login made a
  // new Latchkey sign-in, so that hint names one that is over: Latchkey asks first.
  await page.goto(`${A}/`);
  await page.getByTestId('signed-in').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign out?' }).waitFor();
  assert.match(await page.textContent('body'), /Demo app A asks to sign you out/);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signedOutAt(page, A);

  // Latchkey's sign-in is over: its home page offers to sign in.
  await page.goto(`${latchkey}/`);
  if (js) await waitHydrated(page);
  await page.getByRole('main').getByRole('link', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await page.getByTestId('signed-in-as').count(), 0);

  // And so is B's: its next sign-in asks for the password.
  await page.goto(`${B}/login`);
  await page.waitForURL(`${latchkey}/sign-in`);
  if (js) await waitHydrated(page);
  await page.getByLabel('Password').waitFor();
  await passwordAndCode(page, { login, phone, js, app: B });

  // Signing out at B with a hint for the current sign-in: no question, straight back to B.
  visited.length = 0;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signedOutAt(page, B);
  assert.deepEqual(visited, ['/oidc/logout']);
  await page.goto(`${latchkey}/`);
  await page.getByRole('main').getByRole('link', { name: 'Sign in', exact: true }).waitFor();
  assert.deepEqual(errors, []);
}

test('hydrated: app A with password and code, app B by single sign-on, prompt=login, logout ends both', async () => {
  await run(true, { login: 'alice', phone: '+12015550123' });
});

test('without JavaScript: the same, as plain pages and form posts', async () => {
  await run(false, { login: 'carol', phone: '+447400123456' });
});
