// Languages in Chromium: the page follows the browser's language, the switcher changes it and
// remembers it, the hydrated page keeps working in Spanish, and dates are written in the
// browser's own locale and time zone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitHydrated, useDemo } from '../lib/harness.mjs';

const ALICE = '+12015550123';
const demo = useDemo({ LATCHKEY_SECURITY__SEND_COOLDOWN_SECS: '0' });

async function signInAlice(page, labels) {
  const before = await demo.codeCount(ALICE);
  await page.getByLabel(labels.username).fill('alice');
  await page.getByLabel(labels.password).fill('alice-demo-pw');
  await page.getByRole('button', { name: labels.submit, exact: true }).click();
  await page.getByLabel(labels.code).fill(await demo.codeFor(ALICE, before));
  await page.getByRole('button', { name: labels.verify }).click();
  await page.waitForURL(`${demo.server.url}/`);
}

test('a Spanish browser gets Spanish; the switcher goes back to English and remembers it', async () => {
  const context = await demo.browser.newContext({ locale: 'es-ES' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${demo.server.url}/sign-in`);
  await waitHydrated(page);
  assert.equal(await page.getAttribute('html', 'lang'), 'es');
  assert.equal(await page.title(), 'Iniciar sesión · Latchkey');

  // Hydrated, in Spanish: a wrong password gets the Spanish message, in place.
  await page.getByLabel('Nombre de usuario').fill('alice');
  await page.getByLabel('Contraseña').fill('nope');
  await page.getByRole('button', { name: 'Iniciar sesión', exact: true }).click();
  await page.getByText('El nombre de usuario o la contraseña no son correctos.').waitFor();
  await signInAlice(page, {
    username: 'Nombre de usuario', password: 'Contraseña', submit: 'Iniciar sesión',
    code: 'Código del mensaje de texto', verify: 'Verificar',
  });
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Seguridad' }).waitFor();

  // The switcher: English, on this page, and still English on the next visit.
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'English' }).click()]);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.getAttribute('button[lang="en"]', 'aria-pressed'), 'true');
  await page.goto(`${demo.server.url}/security`);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.getByRole('heading', { name: 'Security', exact: true }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('dates and times are written in the browser locale and time zone', async () => {
  const context = await demo.browser.newContext({ locale: 'de-DE', timezoneId: 'Asia/Tokyo' });
  const page = await context.newPage();
  await page.goto(`${demo.server.url}/sign-in`);
  await waitHydrated(page);
  await signInAlice(page, {
    username: 'Username', password: 'Password', submit: 'Sign in',
    code: 'Code from the text message', verify: 'Verify',
  });
  await page.goto(`${demo.server.url}/security`);
  await waitHydrated(page);
  const time = page.getByTestId('activity').locator('time').first();
  const iso = await time.getAttribute('datetime');
  const expected = new Intl.DateTimeFormat('de-DE', {
    dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo',
  }).format(new Date(iso));
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel)?.textContent === want,
    ['[data-testid="activity"] time', expected],
  );
  assert.match(expected, /^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$/);
  assert.match(await time.getAttribute('title'), / UTC$/, 'UTC stays in the title');
  await context.close();
});
