// The Twilio stand-in the end-to-end flows read codes from: it accepts a text the way Twilio
// does and hands it back the way a phone would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTwilioStandin } from '../lib/harness.mjs';

test('the stand-in takes a text with Twilio credentials and shows it to the "phone"', async () => {
  const standin = await startTwilioStandin();
  try {
    const url = `${standin.url}/2010-04-01/Accounts/${standin.accountSid}/Messages.json`;
    const auth = 'Basic ' + Buffer.from(`${standin.accountSid}:${standin.authToken}`).toString('base64');
    const form = new URLSearchParams({ To: '+12015550123', From: '+15017122661', Body: 'Your code is 123456' });

    const refused = await fetch(url, { method: 'POST', body: form });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).code, 20003);

    const accepted = await fetch(url, { method: 'POST', body: form, headers: { authorization: auth } });
    assert.equal(accepted.status, 201);
    const message = await accepted.json();
    assert.match(message.sid, /^SM[0-9a-f]{32}$/);

    const inbox = await standin.texts('+12015550123');
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0].body, 'Your code is 123456');
    assert.deepEqual(await standin.texts('+12015550199'), []);
  } finally {
    await standin.stop();
  }
});
