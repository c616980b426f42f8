// Virtual keys, budgets and rate limits as the official OpenAI SDK sees them: a bad key raises
// AuthenticationError, an exhausted budget RateLimitError with code insufficient_quota, a key over
// its requests per minute RateLimitError with code rate_limit_exceeded; cost headers are readable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack } from './harness.mjs';

const adminToken = 'acceptance-admin-token';
let stack;

before(async () => {
  process.env.ARKROUTE_ADMIN_TOKEN = adminToken;
  stack = await startStack({
    extraConfig: [
      '[model.price.per_image]',
      '"*" = { "*" = 0.04 }',
      '',
      '[auth]',
      'mode = "keys"',
      'default_budget_usd = 0.05',
    ].join('\n'),
  });
});
after(async () => { await stack?.stop(); });

async function createKey(spec) {
  const response = await fetch(`${stack.baseURL.replace(/\/v1$/, '')}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()).secret;
}

const client = (apiKey) => new OpenAI({ baseURL: stack.baseURL, apiKey, maxRetries: 0 });
const request = { model: 'seedream-4.5', prompt: 'a paid lighthouse', size: '1024x1024' };

test('a bad key raises AuthenticationError', async () => {
  await assert.rejects(client('ark_not-a-key').images.generate(request), (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}`);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'invalid_api_key');
    return true;
  });
});

test('an exhausted budget raises RateLimitError with code insufficient_quota', async () => {
  const paid = client(await createKey({ name: 'free-credits' }));  // $0.05: one $0.04 image
  const { data, response } = await paid.images.generate(request).withResponse();
  assert.equal(data.data.length, 1);
  assert.equal(response.headers.get('x-arkroute-cost-usd'), '0.040000');
  assert.equal(response.headers.get('x-arkroute-model'), 'seedream-4.5');
  await assert.rejects(paid.images.generate({ ...request, prompt: 'one more' }), (err) => {
    assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}`);
    assert.equal(err.code, 'insufficient_quota');
    return true;
  });
  // The same request again is a cache hit: free, served at any balance.
  const { response: hit } = await paid.images.generate(request).withResponse();
  assert.equal(hit.headers.get('x-arkroute-cache'), 'HIT');
  assert.equal(hit.headers.get('x-arkroute-saved-usd'), '0.040000');
});

test('a key over its requests per minute raises RateLimitError rate_limit_exceeded', async () => {
  const limited = client(await createKey({ name: 'one-rpm', rpm: 1, budget_usd: null }));
  await limited.images.generate({ ...request, prompt: 'first of the minute' });
  await assert.rejects(limited.images.generate({ ...request, prompt: 'second' }), (err) => {
    assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}`);
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.ok(Number(err.headers.get('retry-after')) >= 1);
    assert.equal(err.headers.get('x-ratelimit-limit-requests'), '1');
    return true;
  });
});
