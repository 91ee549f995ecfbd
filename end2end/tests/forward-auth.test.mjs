// Forward authentication in Chromium, as `make demo` serves it: one small app (it shows the
// Remote-* headers it gets) behind nginx and behind Caddy, each asking Latchkey about every
// request, at wiki.localhost (the password), vault.localhost (the password and a texted code)
// and admin.localhost (members of latchkey-admins only). Chromium resolves *.localhost to
// loopback by itself. For each proxy, hydrated and without JavaScript:
// - not signed in, an app's page leads to Latchkey's sign-in (password, code) and back to
//   exactly that page, as alice; the Remote-User and Remote-Groups the browser sends never reach
//   the app; a form posted to the app gets through; the vault lets her in without a new text;
//   Latchkey's security page lists both apps; admin.localhost refuses her (403); signing out of
//   Latchkey ends her access to both apps;
// - a remembered browser is the password level: after signing out, the wiki asks for the
//   password only, then the vault asks for the code only (a step up: no password field, one
//   text);
// - carol, an administrator, gets into admin.localhost and the app sees her groups;
// - and once (nginx, without JavaScript): bob, who has no phone, adds one on his way to the
//   vault.
// Latchkey's pages are hydrated or plain; the app's and the 403 page are plain HTML either way.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useDemo, waitHydrated, press } from '../lib/harness.mjs';

const ALICE = '+12015550123';
const CAROL = '+447400123456';

// `--no-oidc-apps`: the demo's protected apps, not its OpenID Connect apps. Alice gets a dozen
// texts within minutes: the sending limits are lifted.
const demo = useDemo({
  LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0',
  LATCHKEY_SECURITY__SENDS_PER_NUMBER_PER_10MIN: '100',
  LATCHKEY_SECURITY__SENDS_PER_USER_PER_DAY: '100',
  LATCHKEY_SECURITY__SENDS_PER_IP_PER_HOUR: '100',
}, ['--no-oidc-apps']);

/** Each proxy's port, as the demo's banner gives it. */
const ports = {};
before(async () => {
  await demo.ready;
  const banner = demo.server.output.join('');
  for (const m of banner.matchAll(/http:\/\/wiki\.localhost:(\d+) \((nginx|Caddy)\)/g)) {
    ports[m[2]] = m[1];
  }
  assert.ok(ports.nginx && ports.Caddy, `both proxies run, says the banner:\n${banner}`);
});

/** `http://wiki.localhost:PORT` behind `proxy`. */
function at(proxy, site) {
  return `http://${site}.localhost:${ports[proxy]}`;
}

/** What the app's page says it received. */
async function shown(page, id) {
  return page.locator(`#${id}`).textContent();
}

/** A page that records what should never happen (script errors, console errors other than
 *  `allowed`, Content-Security-Policy violations) and which Latchkey pages it loads. */
function watch(page, allowed = []) {
  const problems = [];
  const visited = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    const text = m.text();
    if (text.includes('Content Security Policy')) problems.push(text);
    else if (m.type() === 'error' && !allowed.some((a) => a.test(text))) problems.push(text);
  });
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.url().startsWith(demo.server.url)) {
      visited.push(new URL(r.url()).pathname);
    }
  });
  return { problems, visited };
}

/** On Latchkey's sign-in page, at the password step. */
async function atSignIn(page, js) {
  await page.waitForURL(`${demo.server.url}/sign-in`);
  if (js) await waitHydrated(page);
  await page.getByLabel('Password').waitFor();
}

async function password(page, login, js) {
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(`${login}-demo-pw`);
  await press(page, page.getByRole('button', { name: 'Sign in' }), js);
}

/** The code step: the code texted to `phone` after the first `count` texts. */
async function code(page, phone, count, js) {
  await page.getByLabel('Code from the text message').fill(await demo.codeFor(phone, count));
  await press(page, page.getByRole('button', { name: 'Verify' }), js);
}

async function signOutOfLatchkey(page, js) {
  await page.goto(`${demo.server.url}/`);
  if (js) await waitHydrated(page);
  await press(page, page.getByRole('button', { name: 'Sign out', exact: true }), js);
  await page.waitForURL(`${demo.server.url}/sign-in`);
  // Hydrated, the URL changes before the sign-in page has loaded its data; that request also
  // writes the session (it takes the "signed out" notice) and, still in flight, would write
  // over a journey the next navigation stores (docs/forward-auth.md, "Known limits").
  if (js) {
    await waitHydrated(page);
    await page.waitForLoadState('networkidle');
  }
}

/** A fresh browser (cookies of its own) for `flow`, closed afterwards. */
async function inBrowser(js, flow) {
  const context = await demo.browser.newContext({ javaScriptEnabled: js });
  try {
    await flow(context);
  } finally {
    await context.close();
  }
}

async function signInGoAroundSignOut(proxy, js) {
  await inBrowser(js, async (context) => {
    // Every request this browser sends claims an administrator named mallory.
    await context.setExtraHTTPHeaders({ 'Remote-User': 'mallory', 'Remote-Groups': 'latchkey-admins' });
    const page = await context.newPage();
    // Chromium reports the 403 page's status in the console.
    const { problems, visited } = watch(page, [/status of 403/]);
    const [wiki, vault, admin] = ['wiki', 'vault', 'admin'].map((site) => at(proxy, site));

    // Not signed in (the forged headers get nobody in): Latchkey's sign-in, password and code,
    // then exactly the page asked for.
    const asked = `${wiki}/some/page?x=1`;
    await page.goto(asked);
    await atSignIn(page, js);
    const texts = await demo.codeCount(ALICE);
    await password(page, 'alice', js);
    await code(page, ALICE, texts, js);
    await page.waitForURL(asked);
    assert.equal(await shown(page, 'remote-user'), 'alice', 'the proxy says alice, not mallory');
    assert.equal(await shown(page, 'remote-name'), 'Alice Anders');
    assert.equal(await shown(page, 'remote-groups'), '', 'no group the browser claimed');
    assert.equal(await shown(page, 'host'), `wiki.localhost:${ports[proxy]}`);
    assert.equal(await shown(page, 'path'), '/some/page');
    // The browser did send its claim; the proxy replaced it with Latchkey's answer.
    const again = await page.reload();
    assert.equal((await again.request().allHeaders())['remote-user'], 'mallory');
    assert.equal(await shown(page, 'remote-user'), 'alice');
    // A form posted to the app passes the same check, body and all.
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Send a POST' }).click()]);
    assert.equal(await shown(page, 'method'), 'POST');
    assert.equal(await shown(page, 'remote-user'), 'alice');

    // The vault wants the code, which this sign-in has: through Latchkey without a page or a
    // text.
    const before = await demo.codeCount(ALICE);
    visited.length = 0;
    await page.goto(`${vault}/`);
    assert.equal(page.url(), `${vault}/`);
    assert.equal(await shown(page, 'remote-user'), 'alice');
    assert.deepEqual(visited, ['/forward-auth'], 'single sign-on: no sign-in page on the way');
    assert.equal(await demo.codeCount(ALICE), before, 'no text for the vault');

    // Latchkey's security page lists both apps, each with its level and "Sign out of this app".
    await page.goto(`${demo.server.url}/security`);
    if (js) await waitHydrated(page);
    const apps = page.getByTestId('apps');
    for (const name of [`Wiki (${proxy})`, `Vault (${proxy})`]) {
      await apps.getByRole('listitem').filter({ hasText: name }).getByRole('button', { name: /Sign out of this app/ }).waitFor();
    }

    // Admin is for latchkey-admins: alice is refused at Latchkey, the app never asked.
    const refused = await page.goto(`${admin}/`);
    assert.equal(refused.status(), 403);
    assert.ok(page.url().startsWith(`${demo.server.url}/forward-auth?`), page.url());
    assert.match(await page.textContent('body'), /only for members of certain groups/);

    // Signing out of Latchkey ends both apps' access: each leads to the sign-in again.
    await signOutOfLatchkey(page, js);
    for (const app of [wiki, vault]) {
      await page.goto(`${app}/`);
      await atSignIn(page, js);
    }
    assert.deepEqual(problems, []);
  });
}

async function rememberedBrowserStepsUp(proxy, js) {
  await inBrowser(js, async (context) => {
    const page = await context.newPage();
    const { problems } = watch(page);
    // Alice signed in once at Latchkey and had it remember this browser, then signed out.
    await demo.signIn(page, { login: 'alice', phone: ALICE, js, remember: true });
    await signOutOfLatchkey(page, js);

    // The wiki asks for the password level: the password alone (the browser is remembered).
    const texts = await demo.codeCount(ALICE);
    const wiki = `${at(proxy, 'wiki')}/`;
    await page.goto(wiki);
    await atSignIn(page, js);
    await password(page, 'alice', js);
    await page.waitForURL(wiki);
    assert.equal(await shown(page, 'remote-user'), 'alice');
    assert.equal(await demo.codeCount(ALICE), texts, 'no text for the wiki');

    // The vault wants the code: a remembered browser does not count as one, so the code step
    // alone, one text, and on to the vault.
    const vault = `${at(proxy, 'vault')}/private`;
    await page.goto(vault);
    await page.waitForURL(`${demo.server.url}/sign-in`);
    if (js) await waitHydrated(page);
    await page.getByLabel('Code from the text message').waitFor();
    assert.equal(await page.getByLabel('Password').count(), 0, 'not the password again');
    await code(page, ALICE, texts, js);
    await page.waitForURL(vault);
    assert.equal(await shown(page, 'remote-user'), 'alice');
    assert.equal(await demo.codeCount(ALICE), texts + 1, 'exactly one text for the step up');
    assert.deepEqual(problems, []);
  });
}

async function administratorGetsIn(proxy, js) {
  await inBrowser(js, async (context) => {
    const page = await context.newPage();
    const { problems } = watch(page);
    const admin = `${at(proxy, 'admin')}/`;
    await page.goto(admin);
    await atSignIn(page, js);
    const texts = await demo.codeCount(CAROL);
    await password(page, 'carol', js);
    await code(page, CAROL, texts, js);
    await page.waitForURL(admin);
    assert.equal(await shown(page, 'remote-user'), 'carol');
    assert.ok(
      (await shown(page, 'remote-groups')).split(',').map((g) => g.trim()).includes('latchkey-admins'),
      await shown(page, 'remote-groups'),
    );
    assert.deepEqual(problems, []);
  });
}

/** Bob has no phone and signs in with the password alone; the vault wants the code, so he adds
 *  a phone (a code to it proves it), and is let in. His account keeps the phone afterwards: run
 *  once. */
async function noPhoneAddsOne(proxy, js) {
  await inBrowser(js, async (context) => {
    const page = await context.newPage();
    const { problems } = watch(page);
    const wiki = `${at(proxy, 'wiki')}/`;
    await page.goto(wiki);
    await atSignIn(page, js);
    await password(page, 'bob', js);
    await page.waitForURL(wiki);
    assert.equal(await shown(page, 'remote-user'), 'bob');

    const vault = `${at(proxy, 'vault')}/`;
    await page.goto(vault);
    await page.waitForURL(`${demo.server.url}/sign-in`);
    if (js) await waitHydrated(page);
    await page.getByRole('heading', { name: 'Add a phone to continue' }).waitFor();
    assert.equal(await page.getByLabel('Password').count(), 0, 'not the password again');
    const phone = '+12015550177';
    const texts = await demo.codeCount(phone);
    await page.getByLabel('Mobile number').fill('+1 201-555-0177');
    await press(page, page.getByRole('button', { name: 'Text me a code' }), js);
    await code(page, phone, texts, js);
    await page.waitForURL(vault);
    assert.equal(await shown(page, 'remote-user'), 'bob');
    assert.deepEqual(problems, []);
  });
}

for (const proxy of ['nginx', 'Caddy']) {
  for (const js of [true, false]) {
    const how = js ? 'hydrated' : 'without JavaScript';
    test(`${proxy}, ${how}: sign in at the app, single sign-on, 403 outside the group, sign-out ends both`, async () => {
      await signInGoAroundSignOut(proxy, js);
    });
    test(`${proxy}, ${how}: a remembered browser passes the wiki with the password, the vault steps up`, async () => {
      await rememberedBrowserStepsUp(proxy, js);
    });
    test(`${proxy}, ${how}: an administrator gets into admin.localhost with her groups`, async () => {
      await administratorGetsIn(proxy, js);
    });
  }
}

test('nginx, without JavaScript: bob, who has no phone, adds one to reach the vault', async () => {
  await noPhoneAddsOne('nginx', false);
});
