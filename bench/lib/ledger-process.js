/**
 * The real all-in-one ledger process (`services/ledger/dist/main.js`, what `npm start` runs) for the suites that
 * measure it over HTTP (`http`, `queries`), and the small process helpers they share.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LEDGER_MAIN = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'services',
  'ledger',
  'dist',
  'main.js',
);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `child` exits, or kills it harder after 10 s. */
export function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * The ledger as `npm start` runs it, on `dataDir`, with the admin key `adminKey` (exempt from rate limits) and
 * `LOG_LEVEL=logLevel`; Kafka only when `kafkaBrokers` is given (the relay then publishes to it). Resolves with
 * `{ child, url }` once `/health` answers.
 */
export async function startLedger(dataDir, { adminKey, logLevel = 'info', kafkaBrokers, env: extra = {} }) {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LEDGER_DATA_DIR: dataDir };
  Object.assign(env, { LEDGER_ADMIN_KEY: adminKey, LOG_LEVEL: logLevel }, extra);
  delete env.KAFKA_BROKERS;
  if (kafkaBrokers !== undefined) env.KAFKA_BROKERS = kafkaBrokers;
  const child = spawn(process.execPath, [LEDGER_MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (child.exitCode !== null) throw new Error(`the ledger exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return { child, url };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop(child);
  throw new Error(`the ledger did not answer /health within 30 s: ${stderr}`);
}
