import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type LedgerConfig, loadConfig } from '@ledger/config';
import type { EventStore } from '@ledger/event-store';
import { eventStoreDbLimits, importEvents, importIntoStore } from './transfer.command.js';

/** A progress bar (or nothing): `ledger` draws one with cli-progress when stderr is a terminal. */
export interface ProgressDisplay {
  /** `total` undefined: unknown (stdin), shown as a counter. Called again to start a new phase. */
  start(label: string, total: number | undefined): void;
  update(linesRead: number): void;
  stop(): void;
}

export interface ImportIo {
  /** The environment `loadConfig` reads (`LEDGER_STORE`, `EVENTSTOREDB_URL`, `LEDGER_DATA_DIR`). */
  readonly env: Record<string, string | undefined>;
  /** Where `--in -` (or no `--in`) reads from, into the embedded store. */
  readonly stdin: Readable;
  readonly print: (line: string) => void;
  readonly warn: (line: string) => void;
  /** Opens the store `LEDGER_STORE=eventstoredb` names: `openEventStore`, or a simulated server in tests. */
  readonly openStore: (config: LedgerConfig) => Promise<EventStore>;
  readonly progress?: ProgressDisplay | undefined;
}

/** Lines of a file (newlines counted; a last line without one counts too), for the bar's total. */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    for (const byte of bytes) if (byte === 10) lines += 1;
    // A file stream yields no empty chunks, so the last byte exists.
    last = bytes[bytes.length - 1] as number;
  }
  return last === 10 ? lines : lines + 1;
}

/** The lines of `input`, read only once iterated: readline emits from the moment it exists. */
function linesOf(input: () => Readable): AsyncIterable<string> {
  return {
    [Symbol.asyncIterator]: () =>
      createInterface({ input: input(), crlfDelay: Number.POSITIVE_INFINITY })[Symbol.asyncIterator](),
  };
}

const IMPORT_CODES = new Set([
  'bad-line',
  'target-not-empty',
  'append-refused',
  'interrupted',
  // The store could not be reached before anything was appended (a failure after the first append is
  // 'interrupted').
  'event-store-unavailable',
  'store-unavailable',
]);

function exitCodeOf(code: string): number {
  if (code === 'target-not-empty') return 3;
  if (code === 'interrupted') return 4;
  if (code === 'event-store-unavailable' || code === 'store-unavailable') return 5;
  return 1;
}

/**
 * `ledger import [--data-dir DIR] [--in FILE|-]`: loads an export into the store `LEDGER_STORE` names, the
 * same configuration every service reads. `sqlite` (the default): the embedded store of DIR, all or nothing
 * (`importEvents`). `eventstoredb`: EventStoreDB at `EVENTSTOREDB_URL` through `openEventStore`, checked first
 * and resumable (`importIntoStore`); it needs `--in FILE`, which it reads twice, and takes no `--data-dir`.
 * Resolves with the exit code: 0 done, 1 a bad line or a refused append (nothing imported), 2 a bad command
 * line, 3 the target holds other events, 4 interrupted midway (EventStoreDB: run it again to continue).
 *
 * @example
 * process.exitCode = await runImport(['--in', 'ledger.ndjson'], { env: process.env, stdin: process.stdin, … });
 */
export async function runImport(args: readonly string[], io: ImportIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { 'data-dir': { type: 'string' }, in: { type: 'string' } },
  });
  const config = loadConfig(io.env);
  const file = values.in === undefined || values.in === '-' ? undefined : values.in;
  const { progress } = io;
  try {
    if (config.store === 'eventstoredb') {
      if (values['data-dir'] !== undefined) {
        io.warn(
          'ledger import: LEDGER_STORE=eventstoredb imports into EVENTSTOREDB_URL; --data-dir names an embedded store (drop it, or unset LEDGER_STORE)',
        );
        return 2;
      }
      if (file === undefined) {
        io.warn(
          'ledger import: into EventStoreDB, give the export as --in FILE: it is read twice (checked whole before the first append, since EventStoreDB has no transaction across streams), which stdin cannot be',
        );
        return 2;
      }
      const total = progress === undefined ? 0 : Math.max(await countLines(file), 1);
      let pass: 'check' | 'append' | undefined;
      const result = await importIntoStore(
        () => io.openStore(config),
        () => linesOf(() => createReadStream(file)),
        {
          checkEvent: await eventStoreDbLimits(),
          onProgress: (step) => {
            if (progress === undefined) return;
            if (step.pass !== pass) {
              pass = step.pass;
              progress.start(pass === 'check' ? 'checking lines' : 'importing events', total);
            }
            progress.update(step.linesRead);
          },
        },
      );
      progress?.stop();
      io.print(
        `imported ${result.events} events in ${result.streams} streams into EventStoreDB (EVENTSTOREDB_URL)${
          result.alreadyStored === 0
            ? ''
            : `; the first ${result.alreadyStored} were already there from an earlier run`
        }`,
      );
      return 0;
    }

    const dataDir = values['data-dir'] ?? config.dataDir;
    await mkdir(dataDir, { recursive: true });
    // From stdin the total is unknown: the display shows a counter.
    progress?.start('importing events', file === undefined ? undefined : Math.max(await countLines(file), 1));
    const { events, streams } = await importEvents(
      dataDir,
      linesOf(() => (file === undefined ? io.stdin : createReadStream(file))),
      (linesRead) => progress?.update(linesRead),
    );
    progress?.stop();
    io.print(`imported ${events} events in ${streams} streams into ${join(dataDir, 'events.db')}`);
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !IMPORT_CODES.has(code)) throw error;
    io.warn(
      code === 'interrupted'
        ? `ledger import: ${(error as Error).message}`
        : `ledger import: ${(error as Error).message}; nothing was imported`,
    );
    return exitCodeOf(code);
  } finally {
    progress?.stop();
  }
}
