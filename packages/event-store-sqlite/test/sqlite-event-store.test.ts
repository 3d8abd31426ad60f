import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedEvent } from '@ledger/event-store';
import { type CommitInfo, SCHEMA_VERSION, SqliteEventStore } from '@ledger/event-store-sqlite';
import { canonicalContent } from '@ledger/integrity';
import Database from 'better-sqlite3';
import t from 'tap';
import { BatchWriter, deserializeError } from '../src/batch-writer.js';
import { openConnection } from '../src/schema.js';
import { WorkerThreadWriter } from '../src/writers.js';

/** One single-event append as the store hands it to a writer: serialised, with the content the seal hashes. */
function appendRequest(streamName: string, type: string, data = '{}') {
  return {
    streamName,
    expectedRevision: 'any' as const,
    events: [{ id: randomUUID(), type, data, metadata: null, content: canonicalContent(data, null) }],
  };
}

const appenderChild = fileURLToPath(
  new URL('../../../test/contract/sqlite-appender.child.ts', import.meta.url),
);

for (const writer of ['worker', 'main-thread'] as const) {
  t.test(`${writer} writer: concurrent appends are group committed`, async (t) => {
    const commits: CommitInfo[] = [];
    const store = await SqliteEventStore.open({
      path: join(t.testdir(), 'ledger.db'),
      writer,
      onCommit: (info) => commits.push(info),
    });
    t.teardown(() => store.close());
    await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        store.appendToStream(`claim-${i}`, [{ type: 'ClaimMade', data: { i } }], {
          expectedRevision: 'no_stream',
        }),
      ),
    );
    t.equal(
      commits.reduce((sum, commit) => sum + commit.appends, 0),
      64,
      'every append went through a reported commit',
    );
    t.ok(commits.length < 64, `64 appends took ${commits.length} commits`);
    t.ok(
      commits.every((commit) => commit.durationMs >= 0),
      'each commit reports its duration',
    );
  });
}

t.test('schema migrations', async (t) => {
  const path = join(t.testdir(), 'ledger.db');
  const store = await SqliteEventStore.open({ path });
  await store.appendToStream('s', [{ type: 'A', data: { kept: true } }]);
  await store.close();

  const db = new Database(path);
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'the file records its schema version');
  db.close();

  const reopened = await SqliteEventStore.open({ path });
  const events: RecordedEvent[] = [];
  for await (const event of reopened.readAll()) events.push(event);
  t.same(
    events.map((e) => e.data),
    [{ kept: true }],
    'reopening an up-to-date file keeps its events',
  );
  await reopened.close();

  const newer = new Database(path);
  newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  newer.close();
  await t.rejects(
    SqliteEventStore.open({ path }),
    /newer than this build understands/,
    'a file from a newer build is refused, not damaged',
  );
});

t.test('a commit that fails fails every append of its batch, and stores nothing', async (t) => {
  const path = join(t.testdir(), 'ledger.db');
  const store = await SqliteEventStore.open({ path });
  await store.close();
  const readOnly = new Database(path, { readonly: true });
  t.teardown(() => readOnly.close());
  const writer = new BatchWriter(readOnly);
  const outcomes = writer.commit([appendRequest('a', 'A'), appendRequest('b', 'B')]);
  t.equal(outcomes.length, 2);
  t.ok(
    outcomes.every((outcome) => !outcome.ok),
    'both appends are refused',
  );
  t.match(outcomes[0], { ok: false, error: { code: /SQLITE_READONLY/ } }, 'with the storage error');
  t.equal(readOnly.prepare('SELECT count(*) FROM events').pluck().get(), 0);
});

t.test('another process appending to the same file', async (t) => {
  const path = join(t.testdir(), 'ledger.db');
  const store = await SqliteEventStore.open({ path, pollIntervalMs: 10 });
  t.teardown(() => store.close());
  const child = spawn(process.execPath, [...process.execArgv, appenderChild, path, 'worker'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
  });

  const fromChild: RecordedEvent[] = [];
  const subscription = store.subscribeToAll({ filter: { eventTypes: ['Crash'] } });
  const ours: Promise<unknown>[] = [];
  for await (const event of subscription) {
    fromChild.push(event);
    if (ours.length < 100) {
      // Write from this process while the child writes too: both processes contend for the same file.
      ours.push(store.appendToStream(`parent-${ours.length % 5}`, [{ type: 'Parent', data: {} }]));
    }
    if (fromChild.length >= 300) break;
  }
  await subscription.unsubscribe();
  await Promise.all(ours);
  t.equal(fromChild.length, 300, "the subscription sees the other process's commits live");
  const positions = fromChild.map((event) => event.position.commit);
  t.ok(
    positions.every((position, i) => i === 0 || position > positions[i - 1]!),
    'in position order',
  );
  let parents = 0;
  for await (const event of store.readAll({ filter: { eventTypes: ['Parent'] } })) {
    if (event.type === 'Parent') parents += 1;
  }
  t.equal(parents, 100, "this process's appends all committed despite the other writer");
});

t.test('a writer thread that cannot open its database fails every append, acknowledging none', async (t) => {
  // A directory is no database file: the thread dies while opening it.
  const writer = new WorkerThreadWriter({ path: t.testdir(), integrity: true, busyTimeoutMs: 1_000 });
  const request = appendRequest('s', 'A');
  const first = await writer.append(request);
  t.match(first, { ok: false, error: { code: 'storage-failure' } }, 'the waiting append is failed');
  const later = await writer.append(request);
  t.match(later, { ok: false, error: { code: 'storage-failure' } }, 'so is every later one');
  await writer.close();
  const error = deserializeError({ code: 'storage-failure', message: 'gone' });
  t.match(error, { code: 'storage-failure', message: 'gone' }, 'surfacing as a typed store error');
});

for (const writer of ['main-thread', 'worker'] as const) {
  t.test(
    `${writer} writer: a write lock held past the busy timeout fails the batch as store-busy`,
    async (t) => {
      const path = join(t.testdir(), 'ledger.db');
      const store = await SqliteEventStore.open({ path, writer, busyTimeoutMs: 200 });
      t.teardown(() => store.close());
      // Another process's long transaction, as a second connection holding the write lock.
      const other = new Database(path);
      t.teardown(() => other.close());
      other.exec('BEGIN IMMEDIATE');
      const appends = ['a', 'b'].map((stream) =>
        store.appendToStream(stream, [{ type: 'A', data: {} }]).then(
          () => 'appended',
          (error: unknown) => error,
        ),
      );
      const [first, second] = await Promise.all(appends);
      t.match(first, { name: 'StoreBusyError', code: 'store-busy', message: /busy: database is locked/ });
      t.match(second, { code: 'store-busy' });
      other.exec('ROLLBACK');
      const appended = await store.appendToStream('a', [{ type: 'A', data: {} }], {
        expectedRevision: 'no_stream',
      });
      t.equal(
        appended.nextExpectedRevision,
        0n,
        'nothing of the refused batch was stored; a retry goes through',
      );
    },
  );
}

t.test('an onCommit that throws neither fails nor strands the appends it observes', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  t.teardown(() => {
    process.off('warning', onWarning);
  });
  const store = await SqliteEventStore.open({
    path: join(t.testdir(), 'ledger.db'),
    onCommit: () => {
      throw new Error('metrics are broken');
    },
  });
  t.teardown(() => store.close());
  const results = await Promise.all(
    ['a', 'b', 'c'].map((stream) => store.appendToStream(stream, [{ type: 'A', data: {} }])),
  );
  t.equal(results.length, 3, 'every append is answered');
  await new Promise((resolve) => setImmediate(resolve));
  t.match(warnings[0], { message: 'metrics are broken' }, 'the error surfaces as a process warning');
});

t.test(
  'a disk-full error in the middle of a batch fails the whole batch and stores none of it',
  async (t) => {
    const path = join(t.testdir(), 'ledger.db');
    await (await SqliteEventStore.open({ path })).close();
    const db = new Database(path);
    t.teardown(() => db.close());
    db.pragma('journal_mode = WAL');
    const pages = db.pragma('page_count', { simple: true }) as number;
    // The database may grow by 30 pages: a 1 MB event in the middle of the batch cannot fit.
    db.pragma(`max_page_count = ${pages + 30}`);
    const writer = new BatchWriter(db);
    const request = (stream: string, size: number) =>
      appendRequest(stream, 'A', JSON.stringify({ pad: 'x'.repeat(size) }));
    const outcomes = writer.commit([request('a', 100), request('b', 1_000_000), request('c', 100)]);
    t.ok(
      outcomes.every((outcome) => !outcome.ok),
      'every append of the batch is refused',
    );
    t.match(outcomes[2], { ok: false, error: { code: 'SQLITE_FULL' } }, 'with the real cause');
    t.equal(db.prepare('SELECT count(*) FROM events').pluck().get(), 0, 'and none of them is stored');
  },
);

t.test('appends are durable: the writer connection fsyncs every commit', async (t) => {
  const db = openConnection(join(t.testdir(), 'ledger.db'), { role: 'writer' });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'synchronous = FULL');
});

t.test(
  'a conflicting append in a batch fails alone while the rest of that same commit is stored',
  async (t) => {
    const commits: CommitInfo[] = [];
    const store = await SqliteEventStore.open({
      path: join(t.testdir(), 'ledger.db'),
      onCommit: (info) => commits.push(info),
    });
    t.teardown(() => store.close());
    await store.appendToStream('taken', [{ type: 'A', data: {} }]);
    commits.length = 0;
    const outcomes = await Promise.allSettled([
      store.appendToStream('one', [{ type: 'A', data: {} }], { expectedRevision: 'no_stream' }),
      store.appendToStream('taken', [{ type: 'B', data: {} }], { expectedRevision: 'no_stream' }),
      store.appendToStream('two', [{ type: 'A', data: {} }], { expectedRevision: 'no_stream' }),
      store.appendToStream('three', [{ type: 'A', data: {} }], { expectedRevision: 'no_stream' }),
    ]);
    t.same(
      commits.map((commit) => commit.appends),
      [4],
      'the four appends shared one commit',
    );
    t.same(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
  },
);

t.test(
  'checkForCommits wakes subscriptions on commits of other connections without waiting for the poll',
  async (t) => {
    const path = join(t.testdir(), 'ledger.db');
    const writer = await SqliteEventStore.open({ path });
    // A poll so slow that only checkForCommits can deliver within the test.
    const reader = await SqliteEventStore.open({ path, pollIntervalMs: 3_600_000 });
    t.teardown(async () => {
      await reader.close();
      await writer.close();
    });
    const subscription = reader.subscribeToAll();
    const iterator = subscription[Symbol.asyncIterator]();
    const first = iterator.next();
    await writer.appendToStream('other-connection', [{ type: 'Noted', data: { n: 1 } }]);
    reader.checkForCommits();
    t.match((await first).value, { type: 'Noted', data: { n: 1 } }, 'a waiting subscription is woken');

    await subscription.unsubscribe();
    await reader.close();
    reader.checkForCommits();
    t.pass('after close it does nothing');
  },
);
