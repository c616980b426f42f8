// What only the gateway provides: its model list, its own errors, the headers it adds, and
// upstream errors surfacing as the SDK's typed errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { decodePngBase64, startStack } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const request = { model: 'gpt-image-1', prompt: 'a quiet harbour at night', size: '1024x1024' };

test('models.list lists exactly the configured models', async () => {
  const ids = [];
  for await (const model of stack.client.models.list()) {
    assert.equal(model.object, 'model');
    ids.push(model.id);
  }
  assert.deepEqual(ids.sort(), ['gpt-image-1', 'seedream-4.5']);
});

test('an unknown model raises NotFoundError with code model_not_found', async () => {
  await assert.rejects(
    stack.client.images.generate({ ...request, model: 'no-such-model' }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.ok(err.requestID, 'the error carries no x-request-id');
      return true;
    },
  );
});

test('a 429 from the upstream raises RateLimitError', async () => {
  await assert.rejects(
    stack.client.images.generate(
      { ...request, prompt: 'rate limited lighthouse' },
      { headers: { 'x-sim-fault': '429' }, maxRetries: 0 },
    ),
    (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 429);
      assert.equal(err.code, 'rate_limit_exceeded');
      return true;
    },
  );
});

test('an upstream moderation refusal raises BadRequestError with code moderation_blocked', async () => {
  await assert.rejects(
    stack.client.images.generate(
      { ...request, prompt: 'refused lighthouse' },
      { headers: { 'x-sim-fault': 'moderation' }, maxRetries: 0 },
    ),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'moderation_blocked');
      return true;
    },
  );
});

test('responses carry x-request-id and the ArkRoute headers', async () => {
  const { data, response, request_id: requestId } = await stack.client.images
    .generate({ ...request, prompt: 'a harbour with headers' })
    .withResponse();
  decodePngBase64(data.data[0].b64_json);
  assert.ok(requestId, 'x-request-id is missing');
  assert.equal(response.headers.get('x-arkroute-model'), 'gpt-image-1');
  assert.ok(['HIT', 'MISS', 'BYPASS', 'COALESCED'].includes(response.headers.get('x-arkroute-cache')),
    `X-ArkRoute-Cache: ${response.headers.get('x-arkroute-cache')}`);
});
