// Repeated generations: the same request must give the same images, plain or streamed. With the
// cache on, the repeat is served from it; the assertions hold either way.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePngBase64, startStack } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('a repeated generation returns identical b64 images', async () => {
  const request = { model: 'seedream-4.5', prompt: 'a red kite over dunes', size: '1024x1024', n: 2 };
  const first = await stack.client.images.generate(request);
  const second = await stack.client.images.generate(request);
  assert.equal(first.data.length, 2);
  for (const image of first.data) decodePngBase64(image.b64_json);
  assert.deepEqual(second.data.map((d) => d.b64_json), first.data.map((d) => d.b64_json));
});

test('a repeated streamed generation yields a completed event with the same image', async () => {
  const request = { model: 'gpt-image-1', prompt: 'a blue kite over snow', stream: true, partial_images: 1 };
  const completed = [];
  for (let round = 0; round < 2; round++) {
    const events = [];
    for await (const event of await stack.client.images.generate(request)) events.push(event);
    const last = events.at(-1);
    assert.equal(last?.type, 'image_generation.completed', `round ${round}: ${events.map((e) => e.type).join(', ')}`);
    decodePngBase64(last.b64_json);
    completed.push(last.b64_json);
  }
  assert.equal(completed[1], completed[0]);
});
