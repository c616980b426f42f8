// A Kling model through the gateway, driven by the official OpenAI SDK: the gateway speaks Kling's
// task API (the simulator's /kling mode: JWT, submit, poll, image URLs) and the SDK sees the
// OpenAI Images API, its answers and its errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import { decodePngBase64, simStats, startStack } from './harness.mjs';

process.env.KLING_KEYS = 'sim-access-key:sim-secret-key';  // the gateway inherits it
const klingConfig = ({ simPort }) => [
  '[[upstream]]',
  'name = "kling"',
  `base_url = "http://127.0.0.1:${simPort}/kling"`,
  'api = "kling"',
  'api_key_env = "KLING_KEYS"',
  'poll_interval = "20ms"',
  '',
  '[[model]]',
  'name = "kling-v3"',
  'upstream = "kling"',
  '',
].join('\n');

// Against the simulator alone (ARKROUTE_ACCEPTANCE_TARGET=sim) nothing speaks OpenAI for Kling.
const onlyGateway = { skip: process.env.ARKROUTE_ACCEPTANCE_TARGET === 'sim' };

let stack;
before(async () => { stack = await startStack({ extraConfig: klingConfig }); });
after(async () => { await stack?.stop(); });


test('images.generate on a Kling model returns PNGs', onlyGateway, async () => {
  const result = await stack.client.images.generate({
    model: 'kling-v3', prompt: 'a lantern festival', n: 2, size: '1536x1024',
  });
  assert.equal(typeof result.created, 'number');
  assert.equal(result.data.length, 2);
  for (const image of result.data) decodePngBase64(image.b64_json);
  const stats = await simStats(stack.simURL);
  assert.equal(stats.requests['/kling/v1/images/generations'], 1);
  assert.ok(stats.requests['/kling/v1/images/generations/{id}'] >= 2);
});

test('a Kling task that fails raises BadRequestError with Kling\'s reason', onlyGateway, async () => {
  await assert.rejects(
    stack.client.images.generate(
      { model: 'kling-v3', prompt: 'refused' },
      { headers: { 'x-sim-fault': 'kling-task-failed' } },
    ),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}`);
      assert.equal(err.code, 'generation_failed');
      assert.match(err.message, /risk control/);
      return true;
    },
  );
});

test('stream: true on a Kling model yields one completed event per image', onlyGateway, async () => {
  const stream = await stack.client.images.generate({
    model: 'kling-v3', prompt: 'a streamed lantern', n: 2, stream: true,
  });
  const events = [];
  for await (const event of stream) events.push(event);
  assert.deepEqual(events.map((e) => e.type), ['image_generation.completed', 'image_generation.completed']);
  for (const event of events) decodePngBase64(event.b64_json);
});

test('images.edit on a Kling model sends the image as Kling\'s reference and returns a PNG', onlyGateway, async () => {
  const result = await stack.client.images.edit({
    model: 'kling-v3',
    prompt: 'the same lantern, in blue',
    image: await toFile(Buffer.from('a lantern to repaint'), 'lantern.png', { type: 'image/png' }),
  });
  assert.equal(result.data.length, 1);
  decodePngBase64(result.data[0].b64_json);
});
