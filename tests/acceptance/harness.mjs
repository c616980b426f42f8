// Acceptance-test harness: starts a real arkroute-sim and a real `arkroute serve` on ephemeral
// loopback ports, hands the tests an official OpenAI SDK client pointed at the gateway, and stops
// both processes by PID afterwards (also when a test fails or the runner exits early).
//
// It builds nothing. Binaries come from ARKROUTE_BIN / ARKROUTE_SIM_BIN, else from the default
// build tree (build/proxy/arkroute, build/tests/sim/arkroute-sim). ARKROUTE_BUILD_DIR changes that
// tree (scripts/test.sh points it at build-asan for the sanitizer pass).
//
// ARKROUTE_ACCEPTANCE_TARGET=sim starts only the simulator and points the client straight at it:
// a diagnostic for checking the SDK-level tests themselves (the sim speaks the same Images API).
// Only the files that test the Images API itself (images.test.mjs, cache.test.mjs) make sense then.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const STARTUP_TIMEOUT_MS = Number(process.env.ARKROUTE_STARTUP_TIMEOUT_MS ?? 20000);
const STOP_TIMEOUT_MS = 10000;
const LISTENING = /listening on http:\/\/([^\s:]+|\[[^\]]+\]):(\d+)/;

function binary(envName, relative) {
  const fromEnv = process.env[envName];
  const buildDir = resolve(repoRoot, process.env.ARKROUTE_BUILD_DIR ?? 'build');
  const path = fromEnv ? resolve(fromEnv) : join(buildDir, relative);
  if (!existsSync(path)) {
    throw new Error(`${path} does not exist: build it first (cmake --build build) or set ${envName}`);
  }
  return path;
}

export const simBinary = () => binary('ARKROUTE_SIM_BIN', 'tests/sim/arkroute-sim');
export const gatewayBinary = () => binary('ARKROUTE_BIN', 'proxy/arkroute');

// Every child still running when this process exits is killed by PID: a failed `before` hook or
// an uncaught error never leaves a simulator or gateway behind.
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

// One child process whose stdout announces `... listening on http://HOST:PORT`.
export class ServiceProcess {
  constructor(name, argv) {
    this.name = name;
    this.argv = argv;
    this.stdout = '';
    this.stderr = '';
    this.exit = null; // { code, signal } once it has exited
  }

  // Spawns the process and resolves with the port from its listening line.
  start() {
    const [command, ...args] = this.argv;
    this.child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    this.exited = new Promise((resolveExit) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        running.delete(this.child);
        resolveExit(this.exit);
      });
    });
    this.child.stderr.on('data', (chunk) => { this.stderr += chunk; });
    return new Promise((resolvePort, rejectPort) => {
      const timer = setTimeout(() => {
        rejectPort(this.failure(`did not print its listening line within ${STARTUP_TIMEOUT_MS} ms`));
      }, STARTUP_TIMEOUT_MS);
      this.child.on('error', (err) => {
        clearTimeout(timer);
        rejectPort(this.failure(`could not be started: ${err.message}`));
      });
      this.child.stdout.on('data', (chunk) => {
        this.stdout += chunk;
        const match = LISTENING.exec(this.stdout);
        if (match && !this.port) {
          clearTimeout(timer);
          this.port = Number(match[2]);
          resolvePort(this.port);
        }
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        rejectPort(this.failure(`exited during startup (code ${code}, signal ${signal})`));
      });
    });
  }

  get pid() {
    return this.child?.pid;
  }

  failure(what) {
    return new Error(`${this.name} ${what}\ncommand: ${this.argv.join(' ')}\n` +
      `stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
  }

  // SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. Resolves with how it ended. A process that had
  // already exited on its own (a crash) or that ends other than by a clean exit or SIGTERM (e.g.
  // a sanitizer report, SIGABRT, SIGSEGV) makes this throw, with its output attached.
  async stop() {
    if (!this.child) return null;
    const alreadyExited = this.exit !== null;
    if (!alreadyExited) {
      process.kill(this.child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try { process.kill(this.child.pid, 'SIGKILL'); } catch { /* already gone */ }
      }, STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    const { code, signal } = this.exit;
    if (alreadyExited) throw this.failure(`had exited before the end of the tests (code ${code}, signal ${signal})`);
    if (!(code === 0 || signal === 'SIGTERM')) {
      throw this.failure(`did not stop cleanly on SIGTERM (code ${code}, signal ${signal})`);
    }
    return this.exit;
  }
}

// The config the gateway runs with: one upstream `sim`, two models routed to it.
export function gatewayConfig({ simPort, cacheDir, extra = '' }) {
  return [
    '[server]',
    'listen = "127.0.0.1:0"',
    'workers = 2',
    '',
    '[cache]',
    `path = "${cacheDir}"`,
    '',
    '[[upstream]]',
    'name = "sim"',
    `base_url = "http://127.0.0.1:${simPort}/v1"`,
    '',
    '[[model]]',
    'name = "gpt-image-1"',
    'upstream = "sim"',
    '',
    '[[model]]',
    'name = "seedream-4.5"',
    'upstream = "sim"',
    '',
    extra,
  ].join('\n');
}

// Starts the simulator and (unless ARKROUTE_ACCEPTANCE_TARGET=sim) the gateway in front of it.
// extraConfig is TOML appended to the config, or a function of { simPort } returning it.
// Returns { client, baseURL, simURL, stop }. Call stop() from an `after` hook.
export async function startStack({ payloadBytes = 20000, extraConfig = '' } = {}) {
  const target = process.env.ARKROUTE_ACCEPTANCE_TARGET ?? 'gateway';
  if (target !== 'gateway' && target !== 'sim') {
    throw new Error(`ARKROUTE_ACCEPTANCE_TARGET must be gateway or sim, not ${target}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'arkroute-acceptance-'));
  const services = [];
  const stop = async () => {
    const errors = [];
    for (const service of services.reverse()) {
      try { await service.stop(); } catch (err) { errors.push(err); }
    }
    rmSync(dir, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  };
  try {
    const sim = new ServiceProcess('arkroute-sim', [
      simBinary(), '--listen', '127.0.0.1:0', '--payload-bytes', String(payloadBytes),
    ]);
    services.push(sim);
    const simPort = await sim.start();
    const simURL = `http://127.0.0.1:${simPort}`;
    let baseURL = `${simURL}/v1`;
    if (target === 'gateway') {
      const configPath = join(dir, 'arkroute.toml');
      const extra = typeof extraConfig === 'function' ? extraConfig({ simPort }) : extraConfig;
      writeFileSync(configPath, gatewayConfig({ simPort, cacheDir: join(dir, 'cache'), extra }));
      const gateway = new ServiceProcess('arkroute', [gatewayBinary(), 'serve', '--config', configPath]);
      services.push(gateway);
      baseURL = `http://127.0.0.1:${await gateway.start()}/v1`;
    }
    const client = new OpenAI({ baseURL, apiKey: 'test-key', maxRetries: 0, timeout: 30000 });
    return { client, baseURL, simURL, target, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

// The simulator's counters: {"requests": {path: n}, "connections_accepted": n, "in_flight": n}.
export async function simStats(simURL) {
  const response = await fetch(`${simURL}/_sim/stats`);
  if (!response.ok) throw new Error(`GET /_sim/stats answered ${response.status}`);
  return response.json();
}

// --- PNG checks -------------------------------------------------------------------------------

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// Parses a PNG far enough to prove it is one: the 8-byte signature, a first IHDR chunk of 13 bytes
// with a correct CRC, sane dimensions, bit depth and colour type, and an IEND chunk at the end.
// Returns { width, height, bitDepth, colorType }; throws with the reason otherwise.
export function parsePng(buffer) {
  if (buffer.length < 8 + 25 + 12) throw new Error(`too short for a PNG: ${buffer.length} bytes`);
  if (!buffer.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw new Error(`bad PNG signature: ${buffer.subarray(0, 8).toString('hex')}`);
  }
  const length = buffer.readUInt32BE(8);
  const type = buffer.toString('latin1', 12, 16);
  if (type !== 'IHDR' || length !== 13) throw new Error(`first chunk is ${type} of ${length} bytes, not IHDR of 13`);
  const crc = buffer.readUInt32BE(16 + 13);
  if (crc32(buffer.subarray(12, 16 + 13)) !== crc) throw new Error('IHDR CRC mismatch');
  const ihdr = {
    width: buffer.readUInt32BE(16),
    height: buffer.readUInt32BE(20),
    bitDepth: buffer[24],
    colorType: buffer[25],
  };
  if (ihdr.width === 0 || ihdr.height === 0) throw new Error(`zero dimension ${ihdr.width}x${ihdr.height}`);
  if (![1, 2, 4, 8, 16].includes(ihdr.bitDepth)) throw new Error(`bad bit depth ${ihdr.bitDepth}`);
  if (![0, 2, 3, 4, 6].includes(ihdr.colorType)) throw new Error(`bad colour type ${ihdr.colorType}`);
  const iend = buffer.subarray(buffer.length - 12);
  if (iend.readUInt32BE(0) !== 0 || iend.toString('latin1', 4, 8) !== 'IEND') throw new Error('no IEND chunk at the end');
  return ihdr;
}

export function decodePngBase64(b64) {
  if (typeof b64 !== 'string' || b64.length === 0) throw new Error(`expected base64 text, got ${typeof b64}`);
  return parsePng(Buffer.from(b64, 'base64'));
}
