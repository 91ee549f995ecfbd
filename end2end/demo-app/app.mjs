// A small app that signs people in through Latchkey with OpenID Connect, as any organisation's
// app would: npm `openid-client` (a relying-party library nobody here wrote) does the protocol —
// discovery, authorization code with PKCE, state and nonce, the ID token's checks, userinfo,
// RP-initiated logout. `make demo` starts two of it (latchkey-demo spawns them) and the
// end-to-end suite starts two of it (end2end/tests/oidc.test.mjs): app A asks for the code level,
// app B for nothing (so the password level).
//
// Configured by the environment:
//   LATCHKEY_ISSUER          Latchkey's issuer (its public URL), e.g. http://127.0.0.1:3000
//   DEMO_APP_URL             this app's own base URL, e.g. http://127.0.0.1:3001; it listens on
//                            that host and port. Its redirect URI is <URL>/callback, its
//                            post-logout redirect URI <URL>/signed-out (both registered in
//                            Latchkey's [[oidc.clients]]).
//   DEMO_APP_CLIENT_ID       the client id registered in Latchkey
//   DEMO_APP_CLIENT_SECRET   its secret (client_secret_basic); unset: a public client (PKCE only)
//   DEMO_APP_ACR_VALUES      acr_values to ask for (e.g. twilio_sms); unset or empty: none
//   DEMO_APP_NAME            what the page calls the app (default "Demo app")
//   DEMO_APP_EXIT_WITH_STDIN set to 1 to exit when stdin closes (the parent that spawned it died)
//
// Prints one JSON line on stdout once it listens: {"url": …, "client_id": …}.
// Sessions are kept in memory, keyed by a random id in a cookie named after the client (Latchkey
// and its apps may share a host: cookies do not tell ports apart).
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';

function required(name) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`demo-app: ${name} is not set (see the top of end2end/demo-app/app.mjs)\n`);
    process.exit(2);
  }
  return value;
}

const ISSUER = new URL(required('LATCHKEY_ISSUER'));
const BASE = new URL(required('DEMO_APP_URL'));
const ORIGIN = BASE.origin;
const CLIENT_ID = required('DEMO_APP_CLIENT_ID');
const CLIENT_SECRET = process.env.DEMO_APP_CLIENT_SECRET || undefined;
const ACR_VALUES = (process.env.DEMO_APP_ACR_VALUES ?? '').trim();
const NAME = process.env.DEMO_APP_NAME || 'Demo app';
const REDIRECT_URI = `${ORIGIN}/callback`;
const POST_LOGOUT_URI = `${ORIGIN}/signed-out`;
const SCOPE = 'openid profile email phone groups';
const COOKIE = `${CLIENT_ID.replace(/[^A-Za-z0-9_-]/g, '_')}-session`;
const MAX_SESSIONS = 1000;

// Discovery once Latchkey answers: the app may start before Latchkey listens. A failure is
// forgotten, so the next request tries again.
let configuration;
function config() {
  configuration ??= oidc
    .discovery(
      ISSUER,
      CLIENT_ID,
      CLIENT_SECRET ? { client_secret: CLIENT_SECRET } : undefined,
      CLIENT_SECRET ? oidc.ClientSecretBasic(CLIENT_SECRET) : oidc.None(),
      // Latchkey's demo and tests run over http on 127.0.0.1.
      { execute: ISSUER.protocol === 'http:' ? [oidc.allowInsecureRequests] : [] },
    )
    .catch((e) => {
      configuration = undefined;
      throw e;
    });
  return configuration;
}

/** sid → { user?, pending: Map(state → checks), loggedOutState?, flash? } */
const sessions = new Map();

function session(req, res) {
  const cookie = (req.headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim().split('='))
    .find(([k]) => k === COOKIE);
  const sid = cookie?.[1];
  if (sid && sessions.has(sid)) return sessions.get(sid);
  const fresh = randomBytes(24).toString('base64url');
  const s = { pending: new Map() };
  sessions.set(fresh, s);
  if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value);
  res.setHeader('set-cookie', `${COOKIE}=${fresh}; Path=/; HttpOnly; SameSite=Lax`);
  return s;
}

const esc = (v) =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function page(res, status, body) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(NAME)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
code{background:#eee;padding:0 .25rem}dt{font-weight:600}button,a.button{font:inherit;padding:.4rem .9rem;margin-right:.5rem}</style>
</head><body><h1>${esc(NAME)}</h1>
<p data-testid="asks">This app signs people in through Latchkey (${esc(ISSUER.origin)}) and asks for ${
    ACR_VALUES ? `<code>acr_values=${esc(ACR_VALUES)}</code>` : 'no particular level (Latchkey applies its default: the password)'
  }.</p>
${body}</body></html>`);
}

function redirect(res, status, location) {
  res.writeHead(status, { location, 'cache-control': 'no-store' });
  res.end();
}

function home(res, s) {
  const flash = s.flash ? `<p role="alert" data-testid="error">${esc(s.flash)}</p>` : '';
  s.flash = undefined;
  if (!s.user) {
    return page(res, 200, `${flash}<p data-testid="signed-out">You are not signed in.</p>
<p><a href="/login" class="button">Sign in</a></p>`);
  }
  const { claims, userinfo } = s.user;
  const amr = (claims.amr ?? []).join(' ');
  const who = userinfo.name ?? userinfo.preferred_username ?? claims.sub;
  return page(res, 200, `${flash}<p data-testid="signed-in">Signed in as <strong>${esc(who)}</strong>
(acr <code data-testid="acr">${esc(claims.acr)}</code>, amr <code data-testid="amr">${esc(amr)}</code>)</p>
<dl>
<dt>sub</dt><dd><code>${esc(claims.sub)}</code></dd>
<dt>preferred_username</dt><dd data-testid="username">${esc(userinfo.preferred_username)}</dd>
<dt>email</dt><dd>${esc(userinfo.email)}</dd>
<dt>groups</dt><dd>${esc((userinfo.groups ?? []).join(', '))}</dd>
<dt>auth_time</dt><dd>${esc(new Date(claims.auth_time * 1000).toISOString())}</dd>
<dt>sid</dt><dd><code data-testid="sid">${esc(claims.sid)}</code></dd>
</dl>
<form method="post" action="/logout"><button type="submit">Sign out</button>
<a href="/login?prompt=login" class="button">Sign in again (prompt=login)</a></form>`);
}

async function login(res, s, url) {
  const config_ = await config();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const parameters = {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  };
  if (ACR_VALUES) parameters.acr_values = ACR_VALUES;
  if (url.searchParams.get('prompt') === 'login') parameters.prompt = 'login';
  // Two tabs may sign in at once: each request keeps its own checks, a few at most.
  s.pending.set(state, { verifier, nonce });
  if (s.pending.size > 5) s.pending.delete(s.pending.keys().next().value);
  redirect(res, 302, oidc.buildAuthorizationUrl(config_, parameters).href);
}

async function callback(res, s, url) {
  const state = url.searchParams.get('state') ?? '';
  const checks = s.pending.get(state);
  if (!checks) {
    return page(res, 400, `<p role="alert" data-testid="error">No sign-in from this browser is waiting for this answer.</p>
<p><a href="/">Back</a></p>`);
  }
  s.pending.delete(state);
  const config_ = await config();
  try {
    const tokens = await oidc.authorizationCodeGrant(config_, url, {
      pkceCodeVerifier: checks.verifier,
      expectedState: state,
      expectedNonce: checks.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const userinfo = await oidc.fetchUserInfo(config_, tokens.access_token, claims.sub);
    s.user = { claims, userinfo, idToken: tokens.id_token };
  } catch (e) {
    // Latchkey's error answer (access_denied, unmet_authentication_requirements, …) or a check
    // that failed here.
    s.flash = e instanceof oidc.AuthorizationResponseError
      ? `Latchkey answered ${e.error}${e.error_description ? `: ${e.error_description}` : ''}`
      : `The sign-in failed: ${e.message}`;
  }
  redirect(res, 303, '/');
}

async function logout(req, res, s) {
  // A cross-site form must not sign people out.
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return page(res, 403, '<p>Refused.</p>');
  const user = s.user;
  s.user = undefined;
  if (!user) return redirect(res, 303, '/');
  // RP-initiated logout: Latchkey ends the sign-in (and every app's session of it) and sends
  // the browser back to /signed-out with this state.
  const state = oidc.randomState();
  s.loggedOutState = state;
  const to = oidc.buildEndSessionUrl(await config(), {
    id_token_hint: user.idToken,
    post_logout_redirect_uri: POST_LOGOUT_URI,
    state,
  });
  redirect(res, 303, to.href);
}

function signedOut(res, s, url) {
  const back = s.loggedOutState && url.searchParams.get('state') === s.loggedOutState;
  s.loggedOutState = undefined;
  page(res, 200, `<p data-testid="logged-out">${
    back ? 'You are signed out of this app and of Latchkey.' : 'You are signed out of this app.'
  }</p><p><a href="/login" class="button">Sign in</a> <a href="/">Home</a></p>`);
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, ORIGIN);
    const s = session(req, res);
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /': return home(res, s);
      case 'GET /login': return await login(res, s, url);
      case 'GET /callback': return await callback(res, s, url);
      case 'POST /logout': return await logout(req, res, s);
      case 'GET /signed-out': return signedOut(res, s, url);
      default: return page(res, 404, '<p>Not found.</p><p><a href="/">Home</a></p>');
    }
  } catch (e) {
    process.stderr.write(`demo-app: ${e.stack ?? e}\n`);
    if (!res.headersSent) page(res, 502, `<p role="alert">Latchkey cannot be reached: ${esc(e.message)}</p>`);
    else res.end();
  }
});

server.on('error', (e) => {
  process.stderr.write(`demo-app: cannot listen on ${BASE.host}: ${e.message}\n`);
  process.exit(1);
});
server.listen(Number(BASE.port || 80), BASE.hostname.replace(/^\[|\]$/g, ''), () => {
  process.stdout.write(`${JSON.stringify({ url: ORIGIN, client_id: CLIENT_ID })}\n`);
});

if (process.env.DEMO_APP_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
