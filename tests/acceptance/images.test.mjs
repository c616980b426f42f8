// The Images API through the gateway, driven by the official OpenAI SDK exactly as a user would:
// only baseURL changes. Every image that comes back must be a real PNG.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePngBase64, startStack } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('images.generate returns b64_json that decodes to a valid PNG', async () => {
  const result = await stack.client.images.generate({
    model: 'gpt-image-1',
    prompt: 'a lighthouse at dawn',
    size: '1024x1024',
  });
  assert.equal(typeof result.created, 'number');
  assert.equal(result.data.length, 1);
  const png = decodePngBase64(result.data[0].b64_json);
  assert.ok(png.width > 0 && png.height > 0);
});

test('images.generate with n=2 returns two PNGs', async () => {
  const result = await stack.client.images.generate({
    model: 'seedream-4.5',
    prompt: 'two red apples on a table',
    n: 2,
  });
  assert.equal(result.data.length, 2);
  for (const image of result.data) decodePngBase64(image.b64_json);
});

test('a streamed generation yields partial images, then one completed event', async () => {
  const stream = await stack.client.images.generate({
    model: 'gpt-image-1',
    prompt: 'a paper boat on a pond',
    stream: true,
    partial_images: 2,
  });
  const events = [];
  for await (const event of stream) events.push(event);

  const types = events.map((e) => e.type);
  const partials = events.filter((e) => e.type === 'image_generation.partial_image');
  assert.equal(partials.length, 2, `event types: ${types.join(', ')}`);
  assert.deepEqual(partials.map((e) => e.partial_image_index), [0, 1]);
  for (const partial of partials) decodePngBase64(partial.b64_json);

  assert.equal(types.at(-1), 'image_generation.completed', `event types: ${types.join(', ')}`);
  assert.equal(types.filter((t) => t === 'image_generation.completed').length, 1);
  decodePngBase64(events.at(-1).b64_json);
});
