// Starts what an end-to-end test needs: the devkit's `latchkey-demo` (the real server with its
// own throwaway slapd and SQLite, demo SMS provider) on a free port, the devkit's
// `twilio-standin`, the demo app that signs in through Latchkey (end2end/demo-app/app.mjs), and
// Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The dev-profile devkit binaries `make unit` builds; `make e2e` names them explicitly.
const DEMO_BINARY =
  process.env.LATCHKEY_DEMO_BIN ?? join(ROOT, 'target', 'debug', 'latchkey-demo');
const STANDIN_BINARY =
  process.env.TWILIO_STANDIN_BIN ?? join(ROOT, 'target', 'debug', 'twilio-standin');

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url, child, output, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`latchkey exited early:\n${output.join('')}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`latchkey was not ready within ${ms} ms:\n${output.join('')}`);
}

/** Starts `latchkey-demo`; returns { url, output, stop }. `env` adds LATCHKEY_… settings, `args`
 *  command-line flags: `--oidc-demo-app URL` (the test starts that app itself, on a port it
 *  knows), `--no-oidc-apps` (the demo's protected apps behind nginx and Caddy, whose addresses
 *  are in `output`, the banner); with neither it starts no demo app of its own. */
export async function startDemo(env = {}, args = []) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
  const output = [];
  let apps = ['--no-demo-apps'];
  if (args.includes('--oidc-demo-app')) apps = ['--no-proxies'];
  else if (args.includes('--no-oidc-apps')) apps = [];
  const flags = ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...apps, ...args];
  const child = spawn(DEMO_BINARY, flags, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, LATCHKEY_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => output.push(d.toString()));
  child.stderr.on('data', (d) => output.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, output);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    url,
    output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Waits until the wasm has hydrated the page (an Effect sets the marker; effects never run
 *  during SSR). Clicking before that would do nothing. */
export async function waitHydrated(page) {
  // Islands: only pages with something interactive load the wasm; on the others the
  // server-rendered HTML is the whole page.
  await page.waitForLoadState('load');
  if (await page.locator('leptos-island').count() === 0) return;
  try {
    await page.waitForSelector('[data-hydrated="true"]', { timeout: 15_000 });
  } catch (e) {
    // Say what the page fetched, so a failure in CI tells why it never woke.
    const fetched = await page.evaluate(() => performance.getEntriesByType('resource')
      .map((r) => `${r.name} ${Math.round(r.duration)} ms (${r.responseStatus ?? '?'})`));
    throw new Error(`${page.url()} did not hydrate in 15 s; it fetched:\n${fetched.join('\n')}`, { cause: e });
  }
}

/** Starts `twilio-standin`; returns { url, accountSid, authToken, texts(to), calls(to), stop }. */
export async function startTwilioStandin() {
  const child = spawn(STANDIN_BINARY, ['--listen', '127.0.0.1:0'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, LATCHKEY_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const first = await new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error('twilio-standin did not start')), 10_000);
    child.stdout.on('data', (d) => {
      buffer += d.toString();
      const newline = buffer.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(buffer.slice(0, newline)));
      }
    });
    child.once('exit', (code) => reject(new Error(`twilio-standin exited with ${code}`)));
  });
  return {
    url: first.url,
    accountSid: first.account_sid,
    authToken: first.auth_token,
    /** Texts received, newest first, as a phone would see them. */
    async texts(to) {
      const query = to ? `?to=${encodeURIComponent(to)}` : '';
      return (await fetch(`${first.url}/_standin/messages${query}`)).json();
    },
    /** Calls received, newest first, each with its TwiML and what it said (`said`). */
    async calls(to) {
      const query = to ? `?to=${encodeURIComponent(to)}` : '';
      return (await fetch(`${first.url}/_standin/calls${query}`)).json();
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
    },
  };
}

/** The demo (its people and directory) with texts going through a Twilio stand-in, as every
 *  flow test wants it; returns { server, standin, stop }. `env` adds settings, `args` flags. */
export async function startDemoWithStandin(env = {}, args = []) {
  const standin = await startTwilioStandin();
  try {
    const server = await startDemo({
      LATCHKEY_SMS__PROVIDER: 'twilio',
      LATCHKEY_SMS__TWILIO__ACCOUNT_SID: standin.accountSid,
      LATCHKEY_SMS__TWILIO__AUTH_TOKEN: standin.authToken,
      LATCHKEY_SMS__TWILIO__FROM: '+15017122661',
      LATCHKEY_SMS__TWILIO__BASE_URL: standin.url,
      ...env,
    }, args);
    return {
      server,
      standin,
      async stop() {
        await server.stop();
        await standin.stop();
      },
    };
  } catch (e) {
    await standin.stop();
    throw e;
  }
}

const CODE_LINE = /^@127\.0\.0\.1 #(\d{6})$/;

/** How many code texts `to` has received. */
export async function codeCount(standin, to) {
  return (await standin.texts(to)).filter((t) => CODE_LINE.test(t.body.trim().split('\n').pop())).length;
}

/** Waits for a code text to `to` beyond the first `count` and returns the code, read from the
 *  origin-bound autofill line `@host #code` as a phone would offer it. */
export async function codeFor(standin, to, count) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const texts = (await standin.texts(to)).filter((t) => CODE_LINE.test(t.body.trim().split('\n').pop()));
    if (texts.length > count) return CODE_LINE.exec(texts[0].body.trim().split('\n').pop())[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no code texted to ${to}`);
}

/** Clicks a form's button and, unless the form answers in place (in an island, hydrated),
 *  waits for the page the post redirects to. */
export async function press(page, locator, js) {
  // A form inside an island answers in place when the page is hydrated; every other form
  // posts and the answer is a new page, with JavaScript or without.
  const inPlace = js && await locator.evaluate((el) => !!el.closest('form')?.closest('leptos-island'));
  if (inPlace) {
    await locator.click();
  } else {
    await Promise.all([page.waitForNavigation(), locator.click()]);
  }
}

/** Registers a test file's `before`/`after`: the demo with the Twilio stand-in (`env` adds
 *  settings, `args` flags, or an async function returning them, called in `before`) and
 *  Chromium. Returns an object whose `server`, `standin` and `browser` are set once
 *  `before` has run, with `codeFor(to, count)` and `codeCount(to)` for that stand-in, and
 *  `signIn(page, …)`: a demo person's whole sign-in, password then the code texted to `phone`;
 *  and `ready`, a promise of all that. */
export function useDemo(env = {}, args = []) {
  const demo = {
    codeFor: (to, count) => codeFor(demo.standin, to, count),
    codeCount: (to) => codeCount(demo.standin, to),
    async signIn(page, { login, phone, js = true, remember = false }) {
      await page.goto(`${demo.server.url}/sign-in`);
      if (js) await waitHydrated(page);
      const before = await demo.codeCount(phone);
      await page.getByLabel('Username').fill(login);
      await page.getByLabel('Password').fill(`${login}-demo-pw`);
      await press(page, page.getByRole('button', { name: 'Sign in' }), js);
      await page.getByLabel('Code from the text message').fill(await demo.codeFor(phone, before));
      if (remember) await page.getByLabel(/Remember this browser/).check();
      await press(page, page.getByRole('button', { name: 'Verify' }), js);
      await page.waitForURL(`${demo.server.url}/`);
    },
  };
  // Resolves once `before` has started everything: a file's own `before` awaits it (Node 20 runs
  // a file's top-level hooks as they are registered, not one after another).
  let started;
  let failed;
  demo.ready = new Promise((resolve, reject) => { started = resolve; failed = reject; });
  demo.ready.catch(() => {});
  before(async () => {
    try {
      demo.stack = await startDemoWithStandin(env, typeof args === 'function' ? await args() : args);
      demo.server = demo.stack.server;
      demo.standin = demo.stack.standin;
      demo.browser = await launchBrowser();
      started();
    } catch (e) {
      failed(e);
      throw e;
    }
  });
  after(async () => {
    await demo.browser?.close();
    await demo.stack?.stop();
  });
  return demo;
}

/** The client secret `latchkey-demo --oidc-demo-app` registers for every demo app. */
export const DEMO_APP_SECRET = 'latchkey-demo-app-secret-not-for-production';

/** Starts end2end/demo-app/app.mjs, an app that signs in through Latchkey with npm
 *  `openid-client`, at `url` (registered with `latchkey-demo --oidc-demo-app url`, as client
 *  `clientId`); `acrValues` is what it asks for (empty: nothing). Returns { url, output, stop }. */
export async function startDemoApp({ issuer, url, clientId, acrValues = '', name }) {
  const output = [];
  const child = spawn(process.execPath, [join(ROOT, 'end2end', 'demo-app', 'app.mjs')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      LATCHKEY_ISSUER: issuer,
      DEMO_APP_URL: url,
      DEMO_APP_CLIENT_ID: clientId,
      DEMO_APP_CLIENT_SECRET: DEMO_APP_SECRET,
      DEMO_APP_ACR_VALUES: acrValues,
      DEMO_APP_NAME: name ?? clientId,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (d) => output.push(d.toString()));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the demo app did not start:\n${output.join('')}`));
    }, 10_000);
    child.stdout.once('data', () => { clearTimeout(timer); resolve(); });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo app exited with ${code}:\n${output.join('')}`));
    });
  });
  child.stdout.resume();
  return {
    url,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
