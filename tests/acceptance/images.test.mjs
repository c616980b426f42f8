// The Images API through the gateway, driven by the official OpenAI SDK exactly as a user would:
// only baseURL changes. Every image that comes back must be a real PNG. Edits upload files as
// multipart/form-data (toFile); a repeated edit is served from the cache, streamed (replayed as
// image_edit events) or as the gateway's URLs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import { decodePngBase64, startStack } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('images.generate returns b64_json that decodes to a valid PNG', async () => {
  const result = await stack.client.images.generate({
    model: 'gpt-image-1',
    prompt: 'a lighthouse at dawn',
    size: '1536x1024',
  });
  assert.equal(typeof result.created, 'number');
  assert.equal(result.data.length, 1);
  const png = decodePngBase64(result.data[0].b64_json);
  assert.deepEqual([png.width, png.height], [1536, 1024]);
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

test('images.edit uploads PNGs as multipart/form-data and returns edited PNGs', async () => {
  const generated = await stack.client.images.generate({ model: 'gpt-image-1', prompt: 'a cat' });
  const input = Buffer.from(generated.data[0].b64_json, 'base64');
  const result = await stack.client.images.edit({
    model: 'seedream-4.5',
    prompt: 'the same cat wearing a hat',
    image: [await toFile(input, 'cat.png', { type: 'image/png' }),
            await toFile(input, 'cat2.png', { type: 'image/png' })],
    n: 2,
  });
  assert.equal(result.data.length, 2);
  for (const image of result.data) decodePngBase64(image.b64_json);
  assert.notEqual(result.data[0].b64_json, generated.data[0].b64_json);
});

test('the same edit sent again is a cache hit, though the SDK picks a new form boundary', async () => {
  const generated = await stack.client.images.generate({ model: 'gpt-image-1', prompt: 'a dog' });
  const input = Buffer.from(generated.data[0].b64_json, 'base64');
  const edit = async () => stack.client.images.edit({
    model: 'gpt-image-1',
    prompt: 'the same dog in a raincoat',
    image: await toFile(input, 'dog.png', { type: 'image/png' }),
  }).withResponse();
  const first = await edit();
  const second = await edit();
  assert.equal(first.response.headers.get('x-arkroute-cache'), 'MISS');
  assert.equal(second.response.headers.get('x-arkroute-cache'), 'HIT');
  assert.deepEqual(second.data.data, first.data.data);
  decodePngBase64(second.data.data[0].b64_json);
});

test('a streamed edit yields image_edit partial images, then the completed event', async () => {
  const stream = await stack.client.images.edit({
    model: 'gpt-image-1',
    prompt: 'make it blue',
    image: await toFile(Buffer.from('not really a png'), 'in.png', { type: 'image/png' }),
    stream: true,
    partial_images: 1,
  });
  const types = [];
  for await (const event of stream) types.push(event.type);
  assert.deepEqual(types, ['image_edit.partial_image', 'image_edit.completed']);
});

test('a streamed edit sent again is replayed from the cache as its image_edit.completed event', async () => {
  const edit = async () => {
    const { data: stream, response } = await stack.client.images.edit({
      model: 'gpt-image-1',
      prompt: 'make it green',
      image: await toFile(Buffer.from('a streamed input'), 'in.png', { type: 'image/png' }),
      stream: true,
      partial_images: 1,
    }).withResponse();
    const events = [];
    for await (const event of stream) events.push(event);
    return { cache: response.headers.get('x-arkroute-cache'), events };
  };
  const live = await edit();
  const replay = await edit();
  assert.equal(live.cache, 'MISS');
  assert.equal(replay.cache, 'HIT');
  assert.deepEqual(replay.events.map((e) => e.type), ['image_edit.completed']);
  assert.equal(replay.events[0].b64_json, live.events.at(-1).b64_json);
  decodePngBase64(replay.events[0].b64_json);
});

test('an edit with response_format url gets the gateway\'s URL, which serves the PNG', async () => {
  const edit = async () => stack.client.images.edit({
    model: 'gpt-image-1',
    prompt: 'make it a postcard',
    image: await toFile(Buffer.from('a url input'), 'in.png', { type: 'image/png' }),
    response_format: 'url',
  }).withResponse();
  const first = await edit();
  const second = await edit();
  assert.equal(first.response.headers.get('x-arkroute-cache'), 'MISS');
  assert.equal(second.response.headers.get('x-arkroute-cache'), 'HIT');
  const url = new URL(first.data.data[0].url);
  assert.equal(second.data.data[0].url, url.href);
  assert.match(url.pathname, /^\/v1\/images\/cache\//);
  const image = await fetch(new URL(url.pathname, stack.baseURL));
  assert.equal(image.status, 200);
  assert.equal(image.headers.get('content-type'), 'image/png');
  decodePngBase64(Buffer.from(await image.arrayBuffer()).toString('base64'));
});

test('an edit without an image raises BadRequestError naming the image parameter', async () => {
  await assert.rejects(
    stack.client.images.edit({ model: 'gpt-image-1', prompt: 'nothing to edit', image: [] }),
    (error) => {
      assert.ok(error instanceof OpenAI.BadRequestError, `got ${error?.constructor?.name}`);
      assert.equal(error.param, 'image');
      return true;
    },
  );
});
