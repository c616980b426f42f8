// The MCP server with the official @modelcontextprotocol/sdk client, over both transports an
// agent uses: Streamable HTTP straight to the gateway's /mcp, and stdio through the
// `arkroute mcp --url ...` bridge (the command an agent config launches). Each transport: connect,
// list the tools, generate an image (a real PNG), repeat it (a cache hit), edit it by its gateway
// URL, estimate a cost
// against the price table below, and get an unknown tool rejected. HTTP also: session end and a
// stale session id answered 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { decodePngBase64, gatewayBinary, simStats, startStack } from './harness.mjs';

// Appended after the last [[model]] (seedream-4.5): its price table.
const PRICES = { '*': { '*': 0.01 }, high: { '1024x1024': 0.025 } };
const PRICE_CONFIG = [
  '[model.price.per_image]',
  `"*" = { "*" = ${PRICES['*']['*']} }`,
  `high = { "1024x1024" = ${PRICES.high['1024x1024']} }`,
].join('\n');

let stack;
let gatewayUrl;
before(async () => {
  stack = await startStack({ extraConfig: PRICE_CONFIG });
  gatewayUrl = stack.baseURL.replace(/\/v1$/, '');
});
after(async () => { await stack?.stop(); });

const transports = {
  'Streamable HTTP': () => new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp`)),
  'stdio bridge': () => new StdioClientTransport({
    command: gatewayBinary(),
    args: ['mcp', '--url', gatewayUrl],
    env: { ARKROUTE_API_KEY: 'test-key' },
    stderr: 'pipe',
  }),
};

const textOf = (result) => result.content.filter((block) => block.type === 'text').map((block) => block.text).join('\n');

for (const [name, makeTransport] of Object.entries(transports)) {
  describe(`MCP over ${name}`, () => {
    let client;
    let transport;
    before(async () => {
      transport = makeTransport();
      client = new Client({ name: 'arkroute-acceptance', version: '1.0.0' });
      await client.connect(transport);
    });
    after(async () => { await client?.close(); });

    test('negotiates a protocol version and lists the five tools with input schemas', async () => {
      assert.equal(client.getServerVersion().name, 'arkroute');
      assert.ok(client.getServerCapabilities().tools);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), ['edit_image', 'estimate_cost', 'generate_image', 'get_usage', 'list_models']);
      for (const tool of tools) {
        assert.equal(tool.inputSchema.type, 'object', tool.name);
        assert.ok(tool.description.length > 60, tool.name);
      }
      const generate = tools.find((tool) => tool.name === 'generate_image');
      assert.deepEqual(generate.inputSchema.required, ['prompt']);
      assert.match(generate.description, /cache/);
    });

    test('generate_image returns a real PNG, and a repeat is a cache hit', async () => {
      const args = { prompt: `a paper boat on a pond (${name})`, model: 'seedream-4.5' };
      const before = (await simStats(stack.simURL)).requests['/v1/images/generations'] ?? 0;
      const first = await client.callTool({ name: 'generate_image', arguments: args });
      assert.equal(first.isError, false, textOf(first));
      const image = first.content.find((block) => block.type === 'image');
      assert.ok(image, 'an image content block');
      assert.equal(image.mimeType, 'image/png');
      const ihdr = decodePngBase64(image.data);
      assert.ok(ihdr.width > 0 && ihdr.height > 0);
      assert.equal(first.structuredContent.cache, 'MISS');
      assert.equal(first.structuredContent.from_cache, false);
      assert.equal(first.structuredContent.cost_usd, PRICES['*']['*']);
      assert.match(textOf(first), /seedream-4\.5/);

      const second = await client.callTool({ name: 'generate_image', arguments: args });
      assert.equal(second.isError, false, textOf(second));
      assert.equal(second.structuredContent.cache, 'HIT');
      assert.equal(second.structuredContent.from_cache, true);
      assert.equal(second.structuredContent.cost_usd, 0);
      assert.equal(second.structuredContent.saved_usd, PRICES['*']['*']);
      assert.match(textOf(second), /cache/i);
      assert.equal(second.content.find((block) => block.type === 'image').data, image.data);
      const afterCalls = (await simStats(stack.simURL)).requests['/v1/images/generations'];
      assert.equal(afterCalls - before, 1, 'one upstream call for two identical requests');
    });

    test('edit_image edits a generated image named by its gateway URL', async () => {
      const generated = await client.callTool({
        name: 'generate_image',
        arguments: { prompt: `a white cup (${name})`, model: 'gpt-image-1' },
      });
      assert.equal(generated.isError, false, textOf(generated));
      const [url] = generated.structuredContent.image_urls;
      // digest, version, tag, index
      assert.match(url, /\/v1\/images\/cache\/[0-9a-f]{32}-[1-9a-f][0-9a-f]*-[0-9a-f]{16}-0$/);
      assert.match(textOf(generated), /edit_image/);
      const before = (await simStats(stack.simURL)).requests['/v1/images/edits'] ?? 0;
      const edited = await client.callTool({
        name: 'edit_image',
        arguments: { prompt: 'paint the cup red', images: [url], model: 'gpt-image-1' },
      });
      assert.equal(edited.isError, false, textOf(edited));
      const image = edited.content.find((block) => block.type === 'image');
      assert.equal(image.mimeType, 'image/png');
      decodePngBase64(image.data);
      assert.equal(edited.structuredContent.cache, 'MISS');
      assert.equal(edited.structuredContent.image_urls.length, 1);
      assert.match(textOf(edited), /^Edited 1 image/);
      const afterCalls = (await simStats(stack.simURL)).requests['/v1/images/edits'];
      assert.equal(afterCalls - before, 1);

      const gone = await client.callTool({
        name: 'edit_image',
        arguments: { prompt: 'p', images: [url.replace(/[0-9a-f]{32}/, 'f'.repeat(32))] },
      });
      assert.equal(gone.isError, true);
      assert.match(textOf(gone), /Image 1 is not in the gateway's cache/);
    });

    test('estimate_cost matches the configured price table', async () => {
      const high = await client.callTool({
        name: 'estimate_cost',
        arguments: { model: 'seedream-4.5', size: '1024x1024', quality: 'high', n: 2 },
      });
      assert.equal(high.isError, false, textOf(high));
      assert.equal(high.structuredContent.unit_usd, PRICES.high['1024x1024']);
      assert.equal(high.structuredContent.total_usd, PRICES.high['1024x1024'] * 2);
      const fallback = await client.callTool({ name: 'estimate_cost', arguments: { model: 'seedream-4.5', quality: 'low' } });
      assert.equal(fallback.structuredContent.total_usd, PRICES['*']['*']);
      const models = await client.callTool({ name: 'list_models', arguments: {} });
      const seedream = models.structuredContent.models.find((model) => model.name === 'seedream-4.5');
      assert.deepEqual(seedream.prices.per_image_usd, PRICES);
    });

    test('an unknown tool is rejected with -32602', async () => {
      await assert.rejects(
        client.callTool({ name: 'make_video', arguments: {} }),
        (err) => err instanceof McpError && err.code === -32602,
      );
    });
  });
}

describe('MCP Streamable HTTP sessions', () => {
  test('terminateSession ends the session, and its stale id then gets 404', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp`));
    const client = new Client({ name: 'arkroute-acceptance', version: '1.0.0' });
    await client.connect(transport);
    await client.ping();
    const staleId = transport.sessionId;
    assert.match(staleId, /^[0-9a-f]{32}$/);
    await transport.terminateSession();
    assert.equal(transport.sessionId, undefined);
    await client.close();

    const raw = await fetch(`${gatewayUrl}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': staleId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(raw.status, 404);

    const stale = new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp`), { sessionId: staleId });
    await stale.start();
    await assert.rejects(
      stale.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      (err) => err instanceof StreamableHTTPError && err.code === 404,
    );
    await stale.close();
  });

  test('the stdio bridge exits by itself when its input ends', async () => {
    const transport = transports['stdio bridge']();
    const client = new Client({ name: 'arkroute-acceptance', version: '1.0.0' });
    await client.connect(transport);
    await client.ping();
    const { pid } = transport;
    const exited = new Promise((resolve) => {
      const poll = setInterval(() => {
        try { process.kill(pid, 0); } catch { clearInterval(poll); resolve(true); }
      }, 20);
    });
    const closing = Date.now();
    await client.close();
    assert.equal(await exited, true);
    // The SDK closes stdin, then waits 2 s before SIGTERM: an exit well before that was the
    // bridge's own (after its DELETE).
    assert.ok(Date.now() - closing < 1500, `exited after ${Date.now() - closing} ms`);
  });
});
