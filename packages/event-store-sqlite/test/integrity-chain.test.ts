/**
 * The hash chain as the SQLite writer builds it, and tampering with a real events.db: each change is found at
 * the position where it was made.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isWrongExpectedVersionError, type RecordedEvent } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { eventHash, GENESIS_HASH, LedgerIntegrity, verifyLedger } from '@ledger/integrity';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';

const appenderChild = fileURLToPath(
  new URL('../../../test/contract/sqlite-appender.child.ts', import.meta.url),
);

async function all(store: SqliteEventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

/** A closed events.db of `count` single-event appends (positions 1..count), and its data dir. */
async function ledgerOf(t: Test, count: number): Promise<{ dir: string; path: string }> {
  const dir = t.testdir();
  const path = join(dir, 'events.db');
  const store = await SqliteEventStore.open({ path });
  for (let i = 1; i <= count; i += 1) {
    await store.appendToStream(`claim-${i % 3}`, [
      { type: 'ClaimMade', data: { n: i, summary: `event number ${i}` }, metadata: { recordedAt: `t${i}` } },
    ]);
  }
  await store.close();
  return { dir, path };
}

/** Opens the file, runs `verifyLedger` (with the data dir's checkpoints, when given), closes. */
async function verifyFile(path: string, dir?: string) {
  const store = await SqliteEventStore.open({ path });
  try {
    if (dir === undefined) return await verifyLedger(store);
    return await LedgerIntegrity.open({ store, dataDir: dir }).verify();
  } finally {
    await store.close();
  }
}

function raw(t: Test, path: string): Database.Database {
  const db = new Database(path);
  t.teardown(() => db.close());
  return db;
}

for (const writer of ['worker', 'main-thread'] as const) {
  t.test(
    `${writer} writer: concurrent appends, conflicts and multi-event appends chain in position order`,
    async (t) => {
      const path = join(t.testdir(), 'events.db');
      const store = await SqliteEventStore.open({ path, writer });
      t.teardown(() => store.close());
      await store.appendToStream('contested', [{ type: 'A', data: {} }], { expectedRevision: 'no_stream' });
      const stored = '0192f6a0-0000-7000-8000-0000000000aa';
      await store.appendToStream('taken', [{ id: stored, type: 'A', data: {} }]);
      const results = await Promise.allSettled(
        Array.from({ length: 48 }, (_, i) =>
          i % 4 === 0
            ? // Every one of these but at most one conflicts and is rolled back inside the group commit.
              store.appendToStream('contested', [{ type: 'B', data: { i } }], { expectedRevision: 0n })
            : i % 4 === 2
              ? // Its first event is sealed and inserted before its second fails: the rollback must undo the link.
                store.appendToStream(`claim-${i}`, [
                  { type: 'C', data: { i } },
                  { id: stored, type: 'D', data: { i } },
                ])
              : store.appendToStream(`claim-${i}`, [
                  { type: 'C', data: { i } },
                  { type: 'D', data: { i }, metadata: { principal: 'k' } },
                ]),
        ),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      t.equal(refused.length, 11 + 12, 'eleven of the twelve conflicts and every duplicate id were refused');
      t.equal(refused.filter((r) => isWrongExpectedVersionError(r.reason)).length, 11);
      t.ok(
        refused.every((r) => isWrongExpectedVersionError(r.reason) || r.reason.code === 'duplicate-event-id'),
      );
      const events = await all(store);
      t.equal(events.length, 1 + 1 + 1 + 24 * 2);
      t.same(
        events.map((e) => Number(e.position.commit)),
        events.map((_, i) => i + 1),
        'positions have no gap where an append was rolled back',
      );
      let prev = GENESIS_HASH;
      for (const event of events) {
        const { integrity, ...rest } = event.metadata as { integrity: { hash: string; prev: string } };
        t.equal(integrity.prev, prev, `event ${event.position.commit} links to the one before it`);
        prev = eventHash({
          prev,
          position: event.position.commit,
          streamId: event.streamId,
          revision: event.revision,
          id: event.id,
          type: event.type,
          data: event.data,
          metadata: rest,
          created: event.created.toISOString(),
        });
        t.equal(integrity.hash, prev);
      }
      t.same(await verifyLedger(store), { ok: true, checkedEvents: events.length });
    },
  );
}

t.test('two handles on one file (as two processes) append into one chain', async (t) => {
  const path = join(t.testdir(), 'events.db');
  const a = await SqliteEventStore.open({ path, writer: 'worker' });
  const b = await SqliteEventStore.open({ path, writer: 'main-thread' });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? a : b).appendToStream(`s-${i}`, [{ type: 'E', data: { i } }]),
    ),
  );
  t.same(await verifyLedger(a), { ok: true, checkedEvents: 40 });
});

t.test('a process killed while appending leaves an intact chain', async (t) => {
  const path = join(t.testdir(), 'events.db');
  await (await SqliteEventStore.open({ path })).close();
  const child = spawn(process.execPath, [...process.execArgv, appenderChild, path, 'worker'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let acks = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('ack ')) acks += 1;
    if (acks >= 50) break;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const report = await verifyFile(path);
  t.ok(report.ok, 'the chain verifies');
  t.ok(
    report.checkedEvents >= 150,
    `${report.checkedEvents} events checked, every acknowledged one among them`,
  );
});

t.test('the store refuses metadata it cannot seal', async (t) => {
  const store = await SqliteEventStore.open({ path: join(t.testdir(), 'events.db') });
  t.teardown(() => store.close());
  const refused = [
    ['a'],
    'text',
    3,
    null,
    { integrity: { hash: 'x', prev: 'y' } },
    // Objects that serialise to something else: what is stored is what counts.
    new Date(0),
    { toJSON: () => ({ integrity: 'forged' }) },
    { toJSON: () => [1, 2] },
  ];
  for (const metadata of refused) {
    await t.rejects(store.appendToStream('s', [{ type: 'A', data: {}, metadata }]), {
      code: 'invalid-append',
    });
  }
  await t.rejects(store.appendToStream('s', [{ type: 'A', data: { lone: '\ud800' } }]), {
    code: 'invalid-append',
  });
  for (const [stream, type] of [
    ['s', 'A\ud800'],
    ['s\udc00', 'A'],
  ]) {
    await t.rejects(store.appendToStream(stream!, [{ type: type!, data: {} }]), { code: 'invalid-append' });
  }
  await t.rejects(store.appendToStream('s', [{ id: 'e\ud800', type: 'A', data: {} }]), {
    code: 'invalid-append',
  });
  t.same(await all(store), [], 'nothing was stored');
  await store.appendToStream('s', [{ type: 'A', data: {}, metadata: { at: new Date(0) } }]);
  t.same(await verifyLedger(store), { ok: true, checkedEvents: 1 }, 'and the store still works');
});

t.test(
  'with integrity off, metadata is stored as written and verification reports it unsealed',
  async (t) => {
    const path = join(t.testdir(), 'events.db');
    const store = await SqliteEventStore.open({ path, integrity: false });
    t.teardown(() => store.close());
    await store.appendToStream('s', [{ type: 'A', data: {}, metadata: { integrity: 'mine' } }]);
    const [event] = await all(store);
    t.same(event?.metadata, { integrity: 'mine' });
    t.match(await verifyLedger(store), {
      ok: false,
      checkedEvents: 0,
      firstBadPosition: 1,
      reason: 'missing-integrity',
    });
  },
);

t.test('tampering with the stored events is found at its position', async (t) => {
  t.test('an intact log verifies', async (t) => {
    const { path } = await ledgerOf(t, 10);
    t.same(await verifyFile(path), { ok: true, checkedEvents: 10 });
  });

  t.test('one byte of one event changed', async (t) => {
    const { path } = await ledgerOf(t, 10);
    const db = raw(t, path);
    const data = db.prepare('SELECT data FROM events WHERE position = 6').pluck().get() as string;
    const at = data.indexOf('number');
    db.prepare('UPDATE events SET data = ? WHERE position = 6').run(
      `${data.slice(0, at)}N${data.slice(at + 1)}`,
    );
    t.match(await verifyFile(path), {
      ok: false,
      checkedEvents: 5,
      firstBadPosition: 6,
      reason: 'hash-mismatch',
    });
  });

  t.test('one byte of one event changed so that it is no longer JSON', async (t) => {
    const { path } = await ledgerOf(t, 10);
    const db = raw(t, path);
    const data = db.prepare('SELECT data FROM events WHERE position = 4').pluck().get() as string;
    db.prepare('UPDATE events SET data = ? WHERE position = 4').run(`${data.slice(0, -1)}]`);
    t.match(await verifyFile(path), {
      ok: false,
      checkedEvents: 3,
      firstBadPosition: 4,
      reason: 'unreadable',
    });
  });

  t.test('metadata, type and stream changed', async (t) => {
    for (const [column, value] of [
      ['metadata', null],
      ['type', 'ClaimRetracted'],
      ['stream_id', 'claim-other'],
      ['created', '2020-01-01T00:00:00.000Z'],
    ] as const) {
      const { path } = await ledgerOf(t, 5);
      raw(t, path).prepare(`UPDATE events SET ${column} = ? WHERE position = 3`).run(value);
      t.match(await verifyFile(path), { ok: false, firstBadPosition: 3 }, column);
    }
  });

  t.test('one event deleted', async (t) => {
    const { path } = await ledgerOf(t, 10);
    raw(t, path).prepare('DELETE FROM events WHERE position = 5').run();
    t.match(await verifyFile(path), {
      ok: false,
      checkedEvents: 4,
      firstBadPosition: 6,
      reason: 'chain-broken',
    });
  });

  t.test('two events swapped', async (t) => {
    const { path } = await ledgerOf(t, 10);
    const db = raw(t, path);
    const row = db.prepare('SELECT * FROM events WHERE position = ?');
    const [a, b] = [row.get(3), row.get(7)] as Array<Record<string, unknown>>;
    const write = db.prepare(
      'UPDATE events SET event_id = ?, stream_id = ?, revision = ?, type = ?, data = ?, metadata = ?, created = ? WHERE position = ?',
    );
    db.transaction(() => {
      db.prepare(
        'UPDATE events SET event_id = event_id || ?, revision = -position WHERE position IN (3, 7)',
      ).run('-');
      for (const [from, to] of [
        [a!, 7],
        [b!, 3],
      ] as const) {
        write.run(
          from.event_id,
          from.stream_id,
          from.revision,
          from.type,
          from.data,
          from.metadata,
          from.created,
          to,
        );
      }
    })();
    t.match(await verifyFile(path), {
      ok: false,
      checkedEvents: 2,
      firstBadPosition: 3,
      reason: 'hash-mismatch',
    });
  });

  t.test('the last event deleted, after a signed checkpoint covered it', async (t) => {
    const { dir, path } = await ledgerOf(t, 10);
    const store = await SqliteEventStore.open({ path });
    const { checkpoint } = await LedgerIntegrity.open({ store, dataDir: dir }).checkpoint();
    await store.close();
    t.match(checkpoint, { treeSize: 10, lastPosition: 10 });
    t.same(await verifyFile(path, dir), { ok: true, checkedEvents: 10, checkpoint }, 'verified against it');
    raw(t, path).prepare('DELETE FROM events WHERE position = 10').run();
    t.match(await verifyFile(path), { ok: true, checkedEvents: 9 }, 'the chain alone cannot tell');
    t.match(await verifyFile(path, dir), { ok: false, firstBadPosition: 10, reason: 'truncated' });
  });

  t.test('the chain rewritten after an event was changed, under signed checkpoints', async (t) => {
    const { dir, path } = await ledgerOf(t, 3);
    let store = await SqliteEventStore.open({ path });
    await LedgerIntegrity.open({ store, dataDir: dir }).checkpoint();
    for (let i = 4; i <= 10; i += 1) await store.appendToStream('late', [{ type: 'L', data: { i } }]);
    await LedgerIntegrity.open({ store, dataDir: dir }).checkpoint();
    await store.close();

    const db = raw(t, path);
    db.prepare(`UPDATE events SET data = '{"i":400}' WHERE position = 4`).run();
    store = await SqliteEventStore.open({ path });
    const events = await all(store);
    await store.close();
    // Re-seal every event as the writer would: the chain is consistent again, only the checkpoints know.
    let prev = GENESIS_HASH;
    for (const event of events) {
      const { integrity: _, ...rest } = event.metadata as Record<string, unknown>;
      const hash = eventHash({
        prev,
        position: event.position.commit,
        streamId: event.streamId,
        revision: event.revision,
        id: event.id,
        type: event.type,
        data: event.data,
        metadata: rest,
        created: event.created.toISOString(),
      });
      db.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(
        JSON.stringify({ ...rest, integrity: { hash, prev } }),
        event.position.commit,
      );
      prev = hash;
    }
    t.same(await verifyFile(path), { ok: true, checkedEvents: 10 }, 'the chain alone cannot tell');
    t.match(await verifyFile(path, dir), { ok: false, firstBadPosition: 4, reason: 'checkpoint-mismatch' });
  });
});
