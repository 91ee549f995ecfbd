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

test('the stand-in takes a call with inline TwiML and tells the "phone" what it said', async () => {
  const standin = await startTwilioStandin();
  try {
    const url = `${standin.url}/2010-04-01/Accounts/${standin.accountSid}/Calls.json`;
    const auth = 'Basic ' + Buffer.from(`${standin.accountSid}:${standin.authToken}`).toString('base64');
    const twiml = '<Response><Say>Your code is 1, 2, 3, 4, 5, 6.</Say><Say>Goodbye.</Say></Response>';
    const form = new URLSearchParams({ To: '+12015550123', From: '+15017122661', Twiml: twiml, Record: 'false' });

    const both = new URLSearchParams(form);
    both.set('Url', 'https://example.org/twiml');
    const refused = await fetch(url, { method: 'POST', body: both, headers: { authorization: auth } });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).code, 21205);

    const accepted = await fetch(url, { method: 'POST', body: form, headers: { authorization: auth } });
    assert.equal(accepted.status, 201);
    const call = await accepted.json();
    assert.match(call.sid, /^CA[0-9a-f]{32}$/);
    assert.equal(call.status, 'queued');

    const heard = await standin.calls('+12015550123');
    assert.equal(heard.length, 1);
    assert.equal(heard[0].said, 'Your code is 1, 2, 3, 4, 5, 6. Goodbye.');
    assert.deepEqual(await standin.texts('+12015550123'), [], 'a call is not a text');
  } finally {
    await standin.stop();
  }
});
