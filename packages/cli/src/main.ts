#!/usr/bin/env node
import { once } from 'node:events';
/**
 * `ledger`: the Attribution Ledger's command-line tool.
 *
 *   ledger demo [--url URL] [--key KEY]   load the September 2020 scenario through the HTTP API and print it
 *   ledger rebuild [--data-dir DIR] [--force]  rebuild the read models from zero, from the store LEDGER_STORE names
 *                                              (refused while a ledger runs)
 *   ledger subscribe <topic> [--actor A] [--state S] [--from N] [--url URL] [--key KEY]  follow a topic (SSE)
 *   ledger keys create|list|revoke …       manage API keys over the admin API
 *   ledger export [--data-dir DIR] [--out FILE|-]   every event as NDJSON, in $all order
 *   ledger import [--data-dir DIR] [--in FILE|-]    load an export into an empty store: DIR's (all or nothing), or
 *                                                   EventStoreDB's with LEDGER_STORE=eventstoredb (checked, resumable)
 *   ledger verify [--data-dir DIR]          check the log's hash chain and signed checkpoint (exit 1: tampered,
 *                                           3: the log could not be read)
 */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, loadConfig, openEventStore } from '@ledger/config';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { startLedger } from '@ledger/ledger';
import { SingleBar } from 'cli-progress';
import { runDemo } from './demo.command.js';
import { type ProgressDisplay, runImport } from './import.command.js';
import { KEYS_USAGE, runKeys } from './keys.command.js';
import { isLedgerUp, LedgerClient } from './ledger-client.js';
import { runRebuild } from './rebuild.command.js';
import { runSubscribe } from './subscribe.command.js';
import { exportEvents, lastPositionOf } from './transfer.command.js';
import { describeReport, runVerify } from './verify.command.js';

const USAGE = `usage:
  ledger demo [--url URL] [--key KEY]   load the September 2020 scenario through the HTTP API and print each
                                        actor's status and Zirconium's dispute history. Without --url it uses
                                        the ledger at HOST:PORT, or starts a temporary one if none answers.
  ledger rebuild [--data-dir DIR] [--force]
                                        rebuild the read models from zero with a progress bar, replaying the
                                        store LEDGER_STORE names; refuses while a ledger or projector runs on
                                        DIR (stop it first, or --force); DIR defaults to LEDGER_DATA_DIR or ./data
  ledger subscribe <claims|denials|confirmations|retractions|all> [--actor A] [--state S] [--from N]
                   [--url URL] [--key KEY]
                                        follow a topic over Server-Sent Events, one line per event
                                        (position type actor party: text), from the start or after
                                        position N; reconnects with Last-Event-ID; Ctrl-C stops it.
                                        URL defaults to http://HOST:PORT, KEY as for demo
  ledger export [--data-dir DIR] [--out FILE|-]
                                        write every event of DIR's store as NDJSON, one line per event in
                                        $all order (bigints as strings); to stdout unless --out FILE
  ledger import [--data-dir DIR] [--in FILE|-]
                                        load an export into DIR, whose store must hold no events (stop the
                                        ledger first); all or nothing: a bad line (named by its number)
                                        leaves DIR as it was. Then run \`ledger rebuild\` for the read models.
                                        With LEDGER_STORE=eventstoredb: into EVENTSTOREDB_URL, from --in FILE
                                        (no --data-dir); the whole file is checked before the first append;
                                        exit 4 if an append fails midway: run it again to continue
  ledger verify [--data-dir DIR]        recompute every event's hash and chain link and the Merkle root, and
                                        check the latest signed checkpoint; prints the report as JSON (and a
                                        summary on stderr); exit 0 intact, 1 tampered, 2 no events.db in DIR,
                                        3 the log could not be read (no verdict). DIR defaults to
                                        LEDGER_DATA_DIR or ./data
${KEYS_USAGE}`;

function adminKeyFor(dataDir: string): string | undefined {
  if (process.env.LEDGER_API_KEY) return process.env.LEDGER_API_KEY;
  if (process.env.LEDGER_ADMIN_KEY) return process.env.LEDGER_ADMIN_KEY;
  try {
    return readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { url: { type: 'string' }, key: { type: 'string' } } });
  const config = loadConfig(process.env);
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const defaultUrl = `http://${config.host}:${config.port}`;

  if (values.url !== undefined || (await isLedgerUp(defaultUrl))) {
    const url = values.url ?? defaultUrl;
    const key = values.key ?? adminKeyFor(config.dataDir);
    if (key === undefined) {
      process.stderr.write('no API key: pass --key, or set LEDGER_API_KEY or LEDGER_ADMIN_KEY\n');
      return 2;
    }
    print(`ledger at ${url}\n`);
    await runDemo(new LedgerClient(url, key), print);
    return 0;
  }

  const dataDir = await mkdtemp(join(tmpdir(), 'ledger-demo-'));
  print(`no ledger answers at ${defaultUrl}: starting a temporary one (data in ${dataDir})\n`);
  const temporary = { ...config, dataDir, port: 0, logLevel: 'warn' as const, adminKey: undefined };
  const ledger = await startLedger(temporary, createLogger(temporary, 'ledger'));
  try {
    await runDemo(new LedgerClient(ledger.url, ledger.generatedAdminKey ?? adminKeyFor(dataDir)!), print);
  } finally {
    await ledger.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return 0;
}

async function rebuildCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, force: { type: 'boolean', default: false } },
  });
  const config = loadConfig(process.env);
  const dataDir = values['data-dir'] ?? config.dataDir;
  // Replaying a store that is not there would create an empty one and fold nothing: a wrong --data-dir.
  if (config.store === 'sqlite' && !existsSync(join(dataDir, 'events.db'))) {
    process.stderr.write(`ledger rebuild: no event store at ${join(dataDir, 'events.db')}\n`);
    return 2;
  }
  const bar = new SingleBar({
    format: 'rebuilding read models [{bar}] {percentage}% | {value}/{total} positions | {eta_formatted} left',
    hideCursor: true,
  });
  let started = false;
  let result: Awaited<ReturnType<typeof runRebuild>>;
  try {
    result = await runRebuild(
      dataDir,
      createLogger({ ...config, logLevel: 'warn' }, 'cli'),
      ({ done, total }) => {
        if (!started) {
          bar.start(Math.max(total, 1), 0);
          started = true;
        }
        bar.update(done);
      },
      { force: values.force, store: config },
    );
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'projector-running') throw error;
    process.stderr.write(`ledger rebuild: ${(error as Error).message} (or pass --force)\n`);
    return 3;
  } finally {
    if (started) bar.stop();
  }
  process.stdout.write(`rebuilt the read models of ${dataDir} up to position ${result.done}\n`);
  return 0;
}

async function subscribe(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      actor: { type: 'string' },
      state: { type: 'string' },
      from: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
    },
  });
  const [topic] = positionals;
  const from = values.from === undefined ? undefined : Number(values.from);
  if (topic === undefined || positionals.length > 1 || (from !== undefined && !Number.isSafeInteger(from))) {
    process.stderr.write(USAGE);
    return 2;
  }
  const config = loadConfig(process.env);
  const key = values.key ?? adminKeyFor(config.dataDir);
  if (key === undefined) {
    process.stderr.write('no API key: pass --key, or set LEDGER_API_KEY or LEDGER_ADMIN_KEY\n');
    return 2;
  }
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  await runSubscribe({
    url: values.url ?? `http://${config.host}:${config.port}`,
    key,
    topic,
    actor: values.actor,
    state: values.state,
    from,
    print: (line) => process.stdout.write(`${line}\n`),
    warn: (line) => process.stderr.write(`ledger subscribe: ${line}\n`),
    signal: stop.signal,
  });
  return 0;
}

async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, out: { type: 'string' } },
  });
  const dataDir = values['data-dir'] ?? loadConfig(process.env).dataDir;
  const path = join(dataDir, 'events.db');
  if (!existsSync(path)) {
    process.stderr.write(`ledger export: no event store at ${path}\n`);
    return 2;
  }
  const toFile = values.out !== undefined && values.out !== '-';
  const out = toFile ? createWriteStream(values.out!) : process.stdout;
  const store = await SqliteEventStore.open({ path });
  // A bar only for a person watching: scripts and tests (no TTY) get the summary line alone.
  const bar = process.stderr.isTTY
    ? new SingleBar({
        format: 'exporting events [{bar}] {percentage}% | {value}/{total} positions | {eta_formatted} left',
        hideCursor: true,
      })
    : undefined;
  try {
    // The embedded store's positions are contiguous from 1, so the last one is the number of events.
    bar?.start(Math.max(Number(await lastPositionOf(store)), 1), 0);
    const { events, lastPosition } = await exportEvents(
      store,
      async (chunk) => {
        if (!out.write(chunk)) await once(out, 'drain');
      },
      (position) => {
        // Events appended during the export may pass the total taken at the start.
        if (bar !== undefined && Number(position) > bar.getTotal()) bar.setTotal(Number(position));
        bar?.update(Number(position));
      },
    );
    bar?.stop();
    if (toFile)
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
    process.stderr.write(
      `exported ${events} events${lastPosition === undefined ? '' : ` up to position ${lastPosition}`}\n`,
    );
  } finally {
    bar?.stop();
    await store.close();
  }
  return 0;
}

/** cli-progress on stderr, one bar per phase; from stdin (no total) a counter of lines. */
function progressBar(): ProgressDisplay {
  let bar: SingleBar | undefined;
  return {
    start(label, total) {
      bar?.stop();
      bar = new SingleBar({
        format:
          total === undefined
            ? `${label} | {value} lines read`
            : `${label} [{bar}] {percentage}% | {value}/{total} lines | {eta_formatted} left`,
        hideCursor: true,
      });
      bar.start(total ?? 0, 0);
    },
    update: (linesRead) => bar?.update(linesRead),
    stop: () => bar?.stop(),
  };
}

function importCommand(args: string[]): Promise<number> {
  return runImport(args, {
    env: process.env,
    stdin: process.stdin,
    print: (line) => process.stdout.write(`${line}\n`),
    warn: (line) => process.stderr.write(`${line}\n`),
    openStore: (config) => openEventStore(config),
    // A bar only for a person watching: scripts, pipes and the tests (no TTY) get the summary line alone.
    progress: process.stderr.isTTY ? progressBar() : undefined,
  });
}

async function verify(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' } } });
  const dataDir = values['data-dir'] ?? loadConfig(process.env).dataDir;
  let report: Awaited<ReturnType<typeof runVerify>>;
  try {
    report = await runVerify(dataDir);
  } catch (error) {
    // Not a verdict: the log could not be read now (locked, an I/O error), so neither "intact" nor "tampered".
    process.stderr.write(`ledger verify: could not read the log: ${(error as Error).message}\n`);
    return 3;
  }
  if (report === undefined) {
    process.stderr.write(`ledger verify: no event store at ${join(dataDir, 'events.db')}\n`);
    return 2;
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`${describeReport(report)}\n`);
  return report.ok ? 0 : 1;
}

function keys(args: string[]): Promise<number> {
  return runKeys(args, {
    print: (line) => process.stdout.write(`${line}\n`),
    warn: (line) => process.stderr.write(`${line}\n`),
    defaults: () => {
      const config = loadConfig(process.env);
      return { url: `http://${config.host}:${config.port}`, key: adminKeyFor(config.dataDir) };
    },
  });
}

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, (args: string[]) => Promise<number>> = {
  demo,
  export: exportCommand,
  import: importCommand,
  keys,
  rebuild: rebuildCommand,
  subscribe,
  verify,
};
const run = command === undefined ? undefined : commands[command];
if (run === undefined) {
  process.stderr.write(USAGE);
  process.exit(command === undefined || command === 'help' || command === '--help' ? 0 : 2);
}
try {
  process.exitCode = await run(rest);
} catch (error) {
  process.stderr.write(`ledger ${command}: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
