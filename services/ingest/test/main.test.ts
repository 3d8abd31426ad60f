import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { claimBody } from './fixtures/ingest.fixtures.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stdout: () => string;
  readonly exited: Promise<number | null>;
}

function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const listening = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (listening !== null) resolve({ child, url: listening[1]!, stdout: () => out, exited });
    });
    void exited.then((code) => reject(new Error(`exited ${code} before listening: ${err}`)));
  });
}

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

t.test('the process prints a generated admin key once, serves, and exits 0 on SIGTERM', async (t) => {
  const dataDir = join(t.testdir(), 'data');
  const first = await start({ LEDGER_DATA_DIR: dataDir });
  const printed = /Bootstrap admin key.*\n {2}(ldg_admin_\S+)/.exec(first.stdout());
  t.ok(printed, 'the key is printed with a clear line');
  const key = printed![1]!;
  t.equal(statSync(join(dataDir, 'admin.key')).mode & 0o777, 0o600);

  const response = await fetch(`${first.url}/v1/claims`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(claimBody()),
  });
  t.equal(response.status, 201);
  const { claimId } = (await response.json()) as { claimId: string };
  t.equal(response.headers.get('location'), `/v1/claims/${claimId}`);
  t.equal((await fetch(`${first.url}/health`)).status, 200);

  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0);
  t.equal(
    first.stdout().split(key).length - 1,
    1,
    'the key appears exactly once: the print, never a log line',
  );

  t.test('a restart prints nothing and keeps the key', async (t) => {
    const second = await start({ LEDGER_DATA_DIR: dataDir });
    t.notMatch(second.stdout(), 'Bootstrap admin key');
    const again = await fetch(`${second.url}/v1/claims`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(claimBody()),
    });
    t.equal(again.status, 201);
    t.ok(((await again.json()) as { position: number }).position > 1, 'events.db kept the first claim');
    second.child.kill('SIGINT');
    t.equal(await second.exited, 0);
  });
});

t.test('a bad environment stops the process with a message naming the variable', async (t) => {
  const { code, stderr } = await run({ PORT: 'eighty', LEDGER_DATA_DIR: t.testdir() });
  t.equal(code, 1);
  t.match(stderr, /PORT/);
});

t.test('LEDGER_STORE=eventstoredb with no server answering stops the start, naming the URL', async (t) => {
  const { code, stderr } = await run({
    LEDGER_STORE: 'eventstoredb',
    EVENTSTOREDB_URL: 'esdb://127.0.0.1:1?tls=false',
    LEDGER_DATA_DIR: t.testdir(),
  });
  t.equal(code, 1);
  t.match(stderr, /cannot reach EventStoreDB at esdb:\/\/127\.0\.0\.1:1\?tls=false \(EVENTSTOREDB_URL\)/);
});

t.test('a failure after the stores opened closes them and exits 1', async (t) => {
  const { code, stderr } = await run({
    LEDGER_ADMIN_KEY: 'ldg_0123456789abcdef_not-the-admin-id-at-all',
    LEDGER_DATA_DIR: t.testdir(),
  });
  t.equal(code, 1);
  t.match(stderr, /LEDGER_ADMIN_KEY/);
});
