/**
 * `ledger import` into EventStoreDB, over the simulated server of packages/event-store-eventstoredb (no
 * EventStoreDB runs here): `runImport` is the command itself, with `openStore` handing it the adapter on the
 * simulated server where the `ledger` bin hands it `openEventStore` (the bin's own selection of EventStoreDB is
 * checked at the end, against an address where nothing listens). The real server: test/contract/eventstoredb-import.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  eventStoreDbLimits,
  exportEvents,
  type ImportIo,
  importIntoStore,
  LedgerClient,
  type ProgressDisplay,
  runDemo,
  runImport,
  TransferError,
} from '@ledger/cli';
import { createLogger, loadConfig } from '@ledger/config';
import { type EsdbClient, EventStoreDbEventStore } from '@ledger/event-store-eventstoredb';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { startLedger } from '@ledger/ledger';
import t from 'tap';
import { carried, readAll } from '../../../test/contract/fixtures/transfer-events.js';
import { SimulatedServer } from '../../event-store-eventstoredb/test/fixtures/simulated-esdb-client.js';
import { ledger } from './fixtures/ledger-bin.js';

const ADMIN_KEY = 'import-esdb-admin-key-0123456789abcdefghijklmnopqrs';
const ESDB_ENV = { LEDGER_STORE: 'eventstoredb', EVENTSTOREDB_URL: 'esdb://simulated:2113?tls=false' };

interface Recorded {
  io: ImportIo;
  readonly out: string[];
  readonly err: string[];
  readonly phases: Array<[string, number | undefined]>;
  readonly updates: number[];
  opened: number;
}

/** `runImport`'s io on a simulated server (or any client), recording what a person would see. */
function io(client: () => EsdbClient, env: Record<string, string> = ESDB_ENV): Recorded {
  const recorded: Recorded = {
    out: [],
    err: [],
    phases: [],
    updates: [],
    opened: 0,
    io: undefined as unknown as ImportIo,
  };
  const progress: ProgressDisplay = {
    start: (label, total) => void recorded.phases.push([label, total]),
    update: (lines) => void recorded.updates.push(lines),
    stop: () => undefined,
  };
  return Object.assign(recorded, {
    io: {
      env,
      stdin: Readable.from([]),
      print: (line: string) => void recorded.out.push(line),
      warn: (line: string) => void recorded.err.push(line),
      openStore: async () => {
        recorded.opened += 1;
        return new EventStoreDbEventStore({ client: client() });
      },
      progress,
    },
  });
}

/** An esdb client whose `failAt`-th append fails: before reaching the server, or (`afterCommit`) after it. */
function failingClient(server: SimulatedServer, failAt: number, afterCommit = false): () => EsdbClient {
  let calls = 0;
  return () => {
    const base = server.client();
    const append = base.appendToStream.bind(base) as (...args: unknown[]) => Promise<unknown>;
    return Object.assign(Object.create(base) as EsdbClient, {
      appendToStream: (async (...args: unknown[]) => {
        calls += 1;
        if (calls !== failAt) return append(...args);
        if (afterCommit) await append(...args);
        throw new Error('14 UNAVAILABLE: connection reset');
      }) as EsdbClient['appendToStream'],
    });
  };
}

t.test('embedded ledger → export → import into EventStoreDB → the same events', async (t) => {
  const dir = t.testdir({ data: {} });
  const dataDir = join(dir, 'data');
  const config = loadConfig({ LEDGER_DATA_DIR: dataDir, LEDGER_ADMIN_KEY: ADMIN_KEY, PORT: '0' });
  const running = await startLedger(config, createLogger({ logLevel: 'silent' }, 'test'));
  try {
    await runDemo(new LedgerClient(running.url, ADMIN_KEY), () => undefined);
  } finally {
    await running.close();
  }
  const source = await SqliteEventStore.open({ path: join(dataDir, 'events.db') });
  const original = await readAll(source);
  const file = join(dir, 'ledger.ndjson');
  const chunks: string[] = [];
  await exportEvents(source, (chunk) => void chunks.push(chunk));
  await source.close();
  writeFileSync(file, chunks.join(''));
  t.ok(original.length >= 8, `the demo wrote ${original.length} events`);
  t.ok(
    original.every((event) => (event.metadata as { integrity?: unknown }).integrity !== undefined),
    'the embedded store sealed every event',
  );

  const server = new SimulatedServer();
  const run = io(() => server.client());
  t.equal(await runImport(['--in', file], run.io), 0, run.err.join('\n'));
  const streams = new Set(original.map((event) => event.streamId)).size;
  t.same(run.out, [
    `imported ${original.length} events in ${streams} streams into EventStoreDB (EVENTSTOREDB_URL)`,
  ]);
  t.same(run.err, []);
  t.same(
    run.phases,
    [
      ['checking lines', original.length],
      ['importing events', original.length],
    ],
    'one bar per pass, against the file’s line count',
  );
  t.equal(run.updates.length, original.length * 2);

  const target = new EventStoreDbEventStore({ client: server.client() });
  t.teardown(() => target.close());
  const copy = await readAll(target);
  t.same(
    copy.map(carried),
    original.map(carried),
    'ids, global order, streams, revisions, types, data, metadata',
  );
  t.ok(
    copy.every((event) => !('integrity' in (event.metadata as object))),
    'EventStoreDB carries no seal',
  );
  t.ok(
    copy.every(
      (event, i) =>
        (event.metadata as { recordedAt: string }).recordedAt ===
        (original[i]!.metadata as { recordedAt: string }).recordedAt,
    ),
    'recordedAt is the original’s',
  );
  t.ok(
    copy.every((event) => event.position.commit !== event.position.prepare),
    'positions are the server’s',
  );
  t.ok(
    server.appends.every(
      (append) => typeof append.expectedRevision === 'bigint' || append.expectedRevision === 'no_stream',
    ),
    'every append carried an explicit expected revision, so a repeated append is deduplicated by the server',
  );

  t.test('the same import again: everything is there, nothing is appended', async (t) => {
    const appends = server.appends.length;
    const again = io(() => server.client());
    t.equal(await runImport(['--in', file], again.io), 0);
    t.same(again.out, [
      `imported 0 events in 0 streams into EventStoreDB (EVENTSTOREDB_URL); the first ${original.length} were already there from an earlier run`,
    ]);
    t.equal(server.appends.length, appends);
  });

  t.test('a target that holds other events is refused before any append', async (t) => {
    const other = new SimulatedServer();
    const store = new EventStoreDbEventStore({ client: other.client() });
    await store.appendToStream('claim-someone-else', [{ id: randomUUID(), type: 'ClaimMade', data: {} }]);
    await store.close();
    const refused = io(() => other.client());
    t.equal(await runImport(['--in', file], refused.io), 3);
    t.match(
      refused.err.join('\n'),
      /^ledger import: line 1: the target already holds events, and they are not the start of this file \(its event 1 is \S+ \(ClaimMade\) at revision 0 of claim-someone-else, the file's is \S+ \(ClaimMade\) at revision 0 of claim-\S+\): import only into an empty store, or re-run an interrupted import with the same file; nothing was imported$/,
    );
    t.equal(other.appends.length, 1, 'only the foreign append');
  });

  t.test('a target holding the whole file and more is refused', async (t) => {
    const lines = chunks.join('').trimEnd().split('\n');
    const shorter = join(t.testdir(), 'first-three.ndjson');
    writeFileSync(shorter, `${lines.slice(0, 3).join('\n')}\n`);
    const refused = io(() => server.client());
    t.equal(await runImport(['--in', shorter], refused.io), 3);
    t.match(refused.err.join('\n'), /not the start of this file \(it holds more events than the file's 3\)/);
  });

  t.test('an append failing midway: exit 4, then the same import continues where it stopped', async (t) => {
    for (const afterCommit of [false, true]) {
      const fresh = new SimulatedServer();
      const failed = io(failingClient(fresh, 3, afterCommit));
      t.equal(await runImport(['--in', file], failed.io), 4);
      const stored = (await readAll(new EventStoreDbEventStore({ client: fresh.client() }))).length;
      t.ok(stored > 0 && stored < original.length, `part of the file is stored (${stored} events)`);
      t.match(
        failed.err.join('\n'),
        /^ledger import: line \d+: the store refused or failed the events of lines \d+-\d+: 14 UNAVAILABLE: connection reset; the target holds at least the file's first \d+ events, because it has no transaction across streams: run the same import again to append the rest$/,
      );
      t.notMatch(failed.err.join('\n'), /nothing was imported/);

      const resumed = io(() => fresh.client());
      t.equal(await runImport(['--in', file], resumed.io), 0, resumed.err.join('\n'));
      t.match(resumed.out.join(''), new RegExp(`the first ${stored} were already there`));
      const copy = await readAll(new EventStoreDbEventStore({ client: fresh.client() }));
      t.same(
        copy.map(carried),
        original.map(carried),
        `afterCommit ${afterCommit}: the whole ledger, once, in order`,
      );
    }
  });
});

const line = (streamId: string, revision: number, position: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: randomUUID(),
    streamId,
    revision: String(revision),
    type: 'ClaimMade',
    data: { n: position },
    metadata: { recordedAt: '2020-09-10T12:00:00.000Z', integrity: { hash: 'h', prev: 'p' } },
    position: { commit: String(position), prepare: String(position) },
    created: '2020-09-10T12:00:00.000Z',
    ...extra,
  });

const linesOf = (lines: string[]) =>
  async function* () {
    yield* lines;
  };

t.test('importIntoStore: checks the whole file before connecting', async (t) => {
  const limits = await eventStoreDbLimits();
  const a = line('claim-a', 0, 1);
  const cases: Array<[string, string[], RegExp]> = [
    [
      'an event id used in two streams',
      [a, line('claim-b', 0, 2, { id: JSON.parse(a).id.toUpperCase() })],
      /line 2: event id \S+ is used twice/,
    ],
    [
      'an id that is no UUID',
      [a, line('claim-b', 0, 2, { id: 'event-7' })],
      /line 2: the target cannot store this event: EventStoreDB event ids are UUIDs, not "event-7"/,
    ],
    [
      'metadata that is JSON null',
      [line('claim-b', 0, 1, { metadata: null })],
      /line 1: the target cannot store this event: EventStoreDB would read metadata null back as no metadata/,
    ],
    ['a bad line at the end', [a, '{oops'], /line 2: not JSON/],
    ['a position repeated', [a, line('claim-b', 0, 1)], /line 2: positions must increase/],
  ];
  for (const [name, lines, message] of cases) {
    let connected = false;
    const error = await importIntoStore(
      async () => {
        connected = true;
        throw new Error('never');
      },
      linesOf(lines),
      { checkEvent: limits },
    ).catch((caught: unknown) => caught);
    t.match(error, { code: 'bad-line', message }, name);
    t.notOk(connected, `${name}: never connected`);
  }
  t.doesNotThrow(() => limits({ id: randomUUID(), type: 'A', data: {} }), 'no metadata is fine');
});

t.test(
  'importIntoStore: the target must be empty or the start of the file, compared event by event',
  async (t) => {
    const lines = [line('claim-a', 0, 1), line('claim-a', 1, 2), line('claim-b', 0, 3)];
    const first = JSON.parse(lines[0]!) as { id: string; data: unknown; metadata: { recordedAt: string } };
    const variants: Array<[string, Record<string, unknown>]> = [
      ['another id', { id: randomUUID() }],
      ['another type', { type: 'ClaimDenied' }],
      ['other data', { data: { n: 'changed' } }],
      ['other metadata', { metadata: { recordedAt: '2021-01-01T00:00:00.000Z' } }],
    ];
    for (const [name, change] of variants) {
      const server = new SimulatedServer();
      const store = new EventStoreDbEventStore({ client: server.client() });
      await store.appendToStream(
        'claim-a',
        [
          {
            id: first.id,
            type: 'ClaimMade',
            data: first.data,
            metadata: { recordedAt: first.metadata.recordedAt },
            ...change,
          },
        ],
        { expectedRevision: 'no_stream' },
      );
      const error = await importIntoStore(async () => store, linesOf(lines)).catch(
        (caught: unknown) => caught,
      );
      t.ok(error instanceof TransferError, name);
      t.match(error, { code: 'target-not-empty', line: 1 }, name);
      t.equal(server.appends.length, 1, `${name}: nothing appended`);
    }

    const server = new SimulatedServer();
    const store = new EventStoreDbEventStore({ client: server.client() });
    await store.appendToStream('claim-a', [
      {
        id: first.id,
        type: 'ClaimMade',
        data: first.data,
        metadata: { recordedAt: first.metadata.recordedAt },
      },
    ]);
    const progress: Array<[string, number]> = [];
    const result = await importIntoStore(async () => store, linesOf(lines), {
      onProgress: ({ pass, linesRead }) => void progress.push([pass, linesRead]),
    });
    t.same(
      result,
      { events: 2, streams: 1, alreadyStored: 1 },
      'the matching first event is skipped; the one stream this run started is counted',
    );
    t.same(progress, [
      ['check', 1],
      ['check', 2],
      ['check', 3],
      ['append', 1],
      ['append', 2],
      ['append', 3],
    ]);
    t.same(
      server.appends.slice(1).map((append) => append.expectedRevision),
      [0n, 'no_stream'],
    );
  },
);

t.test('importIntoStore: large events of one stream go in separate appends', async (t) => {
  const big = 'x'.repeat(300 * 1024);
  const server = new SimulatedServer();
  const lines = [
    line('claim-a', 0, 1, { data: { big } }),
    line('claim-a', 1, 2, { data: { big } }),
    line('claim-a', 2, 3, { metadata: undefined }),
  ];
  await importIntoStore(async () => new EventStoreDbEventStore({ client: server.client() }), linesOf(lines));
  t.same(
    server.appends.map((append) => append.expectedRevision),
    ['no_stream', 0n],
    'two appends: the second big event starts a new one, the small third joins it',
  );
  const copy = await readAll(new EventStoreDbEventStore({ client: server.client() }));
  t.same(
    copy.map((event) => event.metadata),
    [{ recordedAt: '2020-09-10T12:00:00.000Z' }, { recordedAt: '2020-09-10T12:00:00.000Z' }, undefined],
    'the seal dropped, and an event without metadata stays without',
  );
});

t.test('importIntoStore: a file that changes between the passes, after appends began', async (t) => {
  const server = new SimulatedServer();
  const lines = [line('claim-a', 0, 1), line('claim-b', 0, 2), line('claim-c', 0, 3)];
  let reads = 0;
  const source = () => {
    reads += 1;
    return linesOf(reads === 1 ? lines : [lines[0]!, lines[1]!, '{changed'])();
  };
  const error = await importIntoStore(
    async () => new EventStoreDbEventStore({ client: server.client() }),
    source,
  ).catch((caught: unknown) => caught);
  t.match(error, {
    code: 'interrupted',
    storedEvents: 1,
    message: /^line 3: not JSON .*; the target holds at least the file's first 1 events/,
  });
});

t.test('runImport: the command line', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'in.ndjson');
  // No newline after the last line: it still counts for the bar.
  writeFileSync(file, `${line('claim-a', 0, 1)}\n${line('claim-b', 0, 2)}`);
  const server = new SimulatedServer();

  t.test('eventstoredb takes no --data-dir and no stdin, and never connects then', async (t) => {
    for (const args of [['--data-dir', dir, '--in', file], [], ['--in', '-']]) {
      const run = io(() => server.client());
      t.equal(await runImport(args, run.io), 2, args.join(' '));
      t.match(
        run.err.join('\n'),
        args[0] === '--data-dir' ? /--data-dir names an embedded store/ : /give the export as --in FILE/,
      );
      t.equal(run.opened, 0);
    }
  });

  t.test('a bad line: exit 1, and nothing was imported', async (t) => {
    const bad = join(dir, 'bad-revision.ndjson');
    writeFileSync(bad, `${line('claim-a', 1, 1)}\n`);
    const run = io(() => server.client());
    run.io = { ...run.io, progress: undefined };
    t.equal(await runImport(['--in', bad], run.io), 1);
    t.match(run.err, [
      /^ledger import: line 1: stream claim-a continues at revision 0, not 1; nothing was imported$/,
    ]);
    t.equal(run.opened, 0);
  });

  t.test('errors other than the import’s own are thrown', async (t) => {
    const run = io(() => server.client());
    await t.rejects(runImport(['--in', join(dir, 'missing.ndjson')], run.io), { code: 'ENOENT' });
    const broken = io(() => server.client());
    broken.io = {
      ...broken.io,
      openStore: async () => Promise.reject(new Error('cannot reach EventStoreDB')),
    };
    await t.rejects(runImport(['--in', file], broken.io), { message: 'cannot reach EventStoreDB' });
  });

  t.test('sqlite: into the data dir, from a file or stdin, with a bar', async (t) => {
    const fromFile = io(() => server.client(), { LEDGER_DATA_DIR: join(dir, 'file') });
    t.equal(await runImport(['--in', file], fromFile.io), 0);
    t.same(fromFile.phases, [['importing events', 2]]);
    t.match(fromFile.out, [/^imported 2 events in 2 streams into .*file\/events\.db$/]);
    t.equal(fromFile.opened, 0, 'openStore is only for EventStoreDB');

    const fromStdin = io(() => server.client());
    fromStdin.io = { ...fromStdin.io, env: {}, stdin: Readable.from([`${line('claim-a', 0, 1)}\n`]) };
    t.equal(await runImport(['--data-dir', join(dir, 'stdin')], fromStdin.io), 0);
    t.same(fromStdin.phases, [['importing events', undefined]], 'no total from stdin: a counter');
    t.same(fromStdin.updates, [1]);

    const emptyStore = join(dir, 'empty-store');
    mkdirSync(emptyStore);
    const empty = await SqliteEventStore.open({ path: join(emptyStore, 'events.db') });
    await empty.close();
    const intoEmpty = io(() => server.client(), { LEDGER_DATA_DIR: emptyStore });
    t.equal(
      await runImport(['--in', file], intoEmpty.io),
      0,
      'an events.db without events is an empty target',
    );

    const again = io(() => server.client(), { LEDGER_DATA_DIR: join(dir, 'file') });
    t.equal(await runImport(['--in', file], again.io), 3);
    t.match(again.err, [/already holds events.*; nothing was imported$/]);
  });

  t.test(
    'the ledger bin opens EVENTSTOREDB_URL through openEventStore, after checking the file',
    async (t) => {
      const env = {
        LEDGER_STORE: 'eventstoredb',
        EVENTSTOREDB_URL: 'esdb://admin:secret@127.0.0.1:1?tls=false',
      };
      const unreachable = await ledger(['import', '--in', file], env);
      t.equal(unreachable.code, 5, 'exit 5: the store could not be reached');
      t.match(unreachable.stderr, /; nothing was imported\n$/);
      t.match(
        unreachable.stderr,
        /ledger import: cannot reach EventStoreDB at esdb:\/\/\*\*\*@127\.0\.0\.1:1\?tls=false/,
      );
      t.notMatch(unreachable.stderr, /secret/);
      const bad = join(dir, 'bad.ndjson');
      writeFileSync(bad, '{oops\n');
      const refused = await ledger(['import', '--in', bad], env);
      t.equal(refused.code, 1);
      t.match(refused.stderr, /^ledger import: line 1: not JSON .*; nothing was imported\n$/);
    },
  );
});
