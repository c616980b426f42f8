// A Seedream model through the gateway, driven by the official OpenAI SDK: the simulator answers
// as Seedream under /seedream (its answer and stream shapes, no edits endpoint), the upstream has
// api = "seedream", and the SDK's images.edit and streams work, cache hits included.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import { decodePngBase64, simStats, startStack } from './harness.mjs';

const seedreamConfig = ({ simPort }) => [
  '[[upstream]]',
  'name = "ark"',
  `base_url = "http://127.0.0.1:${simPort}/seedream/v1"`,
  'api = "seedream"',
  '',
  '[[model]]',
  'name = "seedream-ark"',
  'upstream = "ark"',
  'upstream_model = "seedream-4-5-251128"',
  '',
].join('\n');

// Against the simulator alone (ARKROUTE_ACCEPTANCE_TARGET=sim) there is no gateway to test.
const onlyGateway = { skip: process.env.ARKROUTE_ACCEPTANCE_TARGET === 'sim' };

let stack;
before(async () => { stack = await startStack({ extraConfig: seedreamConfig }); });
after(async () => { await stack?.stop(); });

test('images.edit on a Seedream model is sent as a generation and returns a PNG', onlyGateway, async () => {
  const input = Buffer.from((await stack.client.images.generate({
    model: 'gpt-image-1', prompt: 'a teapot to edit',
  })).data[0].b64_json, 'base64');
  const before = (await simStats(stack.simURL)).requests;
  const result = await stack.client.images.edit({
    model: 'seedream-ark',
    prompt: 'the same teapot, glazed blue',
    response_format: 'b64_json',
    image: await toFile(input, 'teapot.png', { type: 'image/png' }),
  });
  assert.equal(result.data.length, 1);
  decodePngBase64(result.data[0].b64_json);
  assert.equal(result.usage.generated_images, 1);
  const after = (await simStats(stack.simURL)).requests;
  const sent = (path) => (after[path] ?? 0) - (before[path] ?? 0);
  assert.equal(sent('/seedream/v1/images/generations'), 1);
  assert.equal(sent('/seedream/v1/images/edits'), 0);
});

test('a Seedream stream yields its partial_succeeded events, live and from the cache', onlyGateway, async () => {
  const request = {
    model: 'seedream-ark',
    prompt: 'two streamed teapots',
    response_format: 'b64_json',
    stream: true,
    sequential_image_generation: 'auto',
    sequential_image_generation_options: { max_images: 2 },
  };
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const { data: stream, response } = await stack.client.images.generate(request).withResponse();
    const events = [];
    for await (const event of stream) events.push(event);
    runs.push({ cache: response.headers.get('x-arkroute-cache'), events });
  }
  assert.deepEqual(runs.map((run) => run.cache), ['MISS', 'HIT']);
  for (const { events } of runs) {
    assert.deepEqual(events.map((e) => e.type), [
      'image_generation.partial_succeeded',
      'image_generation.partial_succeeded',
      'image_generation.completed',
    ]);
    decodePngBase64(events[0].b64_json);
    assert.equal(events[2].usage.generated_images, 2);
  }
  assert.deepEqual(runs[1].events.slice(0, 2).map((e) => e.b64_json),
    runs[0].events.slice(0, 2).map((e) => e.b64_json));
});

test('an edit with a mask raises BadRequestError naming it, and reaches no provider', onlyGateway, async () => {
  const png = await toFile(Buffer.from('\x89PNG\r\n\x1a\n'), 'a.png', { type: 'image/png' });
  const before = (await simStats(stack.simURL)).requests['/seedream/v1/images/generations'] ?? 0;
  await assert.rejects(
    stack.client.images.edit({ model: 'seedream-ark', prompt: 'p', image: png, mask: png }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}`);
      assert.equal(err.param, 'mask');
      return true;
    },
  );
  const after = (await simStats(stack.simURL)).requests['/seedream/v1/images/generations'] ?? 0;
  assert.equal(after, before);
});
