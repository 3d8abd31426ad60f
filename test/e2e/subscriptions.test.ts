/**
 * `ledger subscribe` against the real all-in-one process: the CLI follows a topic over SSE, filtered by actor,
 * and resumes after the ledger restarts without missing or repeating an event.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { claimBody, denialBody } from './fixtures/bodies.js';
import { ADMIN_KEY, call, type LedgerProcess, startLedgerProcess } from './fixtures/ledger-process.js';

const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

type Written = { claimId: string; position: number };

t.test('ledger subscribe follows the denials of one actor, across a restart of the ledger', async (t) => {
  const dataDir = t.testdir();
  let ledger: LedgerProcess = await startLedgerProcess(dataDir);
  t.teardown(() => ledger.stop());
  const { url } = ledger;
  const post = async (path: string, body: unknown) => {
    const answer = await call<Written>(url, 'POST', path, { body });
    t.equal(answer.status, 201, `POST ${path}`);
    return answer.body;
  };

  const child = spawn(
    process.execPath,
    [cli, 'subscribe', 'denials', '--actor', 'volt-typhoon', '--url', url, '--key', ADMIN_KEY],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) waiter();
  });
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const lineMatching = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line ${pattern}: ${lines} ${stderr}`)), 15_000);
      const check = () => {
        const line = lines.find((l) => pattern.test(l));
        if (line === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(line);
      };
      waiters.add(check);
      check();
    });

  const volt = await post('/v1/claims', claimBody());
  const other = await post('/v1/claims', claimBody({ actor: { name: 'Sandworm' } }));
  await post(`/v1/claims/${other.claimId}/denials`, denialBody());
  const denied = await post(`/v1/claims/${volt.claimId}/denials`, denialBody());
  const line = await lineMatching(/ClaimDenied/);
  t.equal(
    line,
    `${denied.position} ClaimDenied volt-typhoon Ministry of Foreign Affairs of China: A disinformation campaign.`,
  );

  // The ledger goes away and comes back on the same port: the CLI reconnects with Last-Event-ID.
  t.equal(await ledger.stop(), 0, 'the ledger stops at once with a stream open');
  const port = new URL(url).port;
  ledger = await startLedgerProcess(dataDir, { PORT: port });
  const again = await post(
    `/v1/claims/${(await post('/v1/claims', claimBody())).claimId}/denials`,
    denialBody({ statement: 'Still a disinformation campaign.' }),
  );
  await lineMatching(/Still a disinformation campaign/);
  t.same(
    lines.map((l) => l.split(' ').slice(0, 3).join(' ')),
    [`${denied.position} ClaimDenied volt-typhoon`, `${again.position} ClaimDenied volt-typhoon`],
    'only the actor’s denials, each once, none of its claims',
  );
  t.match(stderr.join('\n'), /reconnecting in \d+ ms after \d+/, 'it said it was reconnecting');

  child.kill('SIGINT');
  t.equal(await exited, 0, 'SIGINT ends it with 0');
});

t.test('ledger subscribe refuses a bad topic and a bad key at once', async (t) => {
  const ledger = await startLedgerProcess(t.testdir());
  t.teardown(() => ledger.stop());
  for (const [args, pattern] of [
    [['subscribe', 'everything', '--key', ADMIN_KEY], /400/],
    [['subscribe', 'denials', '--key', 'ldg_nobody_secret'], /401/],
  ] as const) {
    const child = spawn(process.execPath, [cli, ...args, '--url', ledger.url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    t.equal(code, 1, args[1]);
    t.match(stderr, pattern);
  }
  const usage = spawn(process.execPath, [cli, 'subscribe'], { stdio: 'ignore' });
  t.equal(await new Promise((resolve) => usage.on('exit', resolve)), 2, 'no topic: usage');
  const keyless = mkdtempSync(join(tmpdir(), 'ledger-subscribe-'));
  t.teardown(() => rmSync(keyless, { recursive: true, force: true }));
  const noKey = spawn(process.execPath, [cli, 'subscribe', 'denials', '--url', ledger.url], {
    stdio: 'ignore',
    cwd: keyless,
    env: { PATH: process.env.PATH ?? '' },
  });
  t.equal(await new Promise((resolve) => noKey.on('exit', resolve)), 2, 'no key anywhere');
});
