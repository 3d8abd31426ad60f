import type { EventStore, ReadAllOptions, RecordedEvent } from '@ledger/event-store';
import {
  type Checkpoint,
  checkCheckpoints,
  eventHash,
  GENESIS_HASH,
  IntegrityKey,
  LedgerIntegrity,
  leafHash,
  merkleRoot,
  scanLog,
  verifyLedger,
} from '@ledger/integrity';
import t from 'tap';

const CREATED = new Date('2026-11-26T12:00:00.000Z');

/** A log of `count` correctly sealed events at positions 10, 20, 30… (positions need not be contiguous). */
function sealedLog(count: number): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= count; i += 1) {
    const base = {
      id: `e${i}`,
      streamId: `s-${i % 2}`,
      revision: BigInt(Math.floor((i - 1) / 2)),
      type: 'T',
      data: { i },
      position: { commit: BigInt(i * 10), prepare: BigInt(i * 10) },
      created: CREATED,
    };
    const hash = eventHash({
      ...base,
      prev,
      position: base.position.commit,
      metadata: { n: i },
      created: CREATED.toISOString(),
    });
    events.push({ ...base, metadata: { n: i, integrity: { hash, prev } } });
    prev = hash;
  }
  return events;
}

/**
 * Just enough of a store for the verifier: `readAll` forwards, optionally failing at one event (by default as
 * stored JSON that no longer parses does).
 */
function storeOf(
  events: readonly RecordedEvent[],
  failAt?: number,
  failure: () => Error = () => new SyntaxError('Unexpected token'),
): EventStore {
  return {
    async *readAll(options: ReadAllOptions = {}) {
      const from = options.fromPosition;
      let left = options.maxCount ?? Number.POSITIVE_INFINITY;
      for (const [index, event] of events.entries()) {
        if (typeof from === 'object' && event.position.commit < from.commit) continue;
        if (left-- <= 0) return;
        if (index === failAt) throw failure();
        yield event;
      }
    },
  } as unknown as EventStore;
}

async function checkpointOf(key: IntegrityKey, events: readonly RecordedEvent[], size: number) {
  const { leaves } = await scanLog(storeOf(events));
  return key.sign({
    treeSize: size,
    rootHash: merkleRoot(leaves, size).toString('hex'),
    lastPosition: Number(events[size - 1]!.position.commit),
    signedAt: CREATED.toISOString(),
  });
}

t.test('any adapter: positions need not be contiguous', async (t) => {
  t.same(await verifyLedger(storeOf(sealedLog(5))), { ok: true, checkedEvents: 5 });
  t.same(await verifyLedger(storeOf([])), { ok: true, checkedEvents: 0 });
});

t.test('an unsealed event, and one whose creation time no longer parses', async (t) => {
  const events = sealedLog(4);
  const unsealed = events.map((e, i) => (i === 2 ? { ...e, metadata: { n: 3 } } : e));
  t.match(await verifyLedger(storeOf(unsealed)), {
    ok: false,
    checkedEvents: 2,
    firstBadPosition: 30,
    reason: 'missing-integrity',
  });
  const badDate = events.map((e, i) => (i === 1 ? { ...e, created: new Date('garbage') } : e));
  t.match(await verifyLedger(storeOf(badDate)), {
    ok: false,
    firstBadPosition: 20,
    reason: 'hash-mismatch',
    detail: /cannot be hashed/,
  });
});

t.test('a store that fails to read an event', async (t) => {
  t.match(await verifyLedger(storeOf(sealedLog(4), 2)), {
    ok: false,
    checkedEvents: 2,
    firstBadPosition: 21,
    reason: 'unreadable',
    detail: /after position 20/,
  });
});

t.test('a store that cannot read now is an error, not a verdict on the log', async (t) => {
  const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  await t.rejects(verifyLedger(storeOf(sealedLog(4), 2, busy)), { code: 'SQLITE_BUSY' });
  const corrupt = () =>
    Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
  t.match(await verifyLedger(storeOf(sealedLog(4), 2, corrupt)), { ok: false, reason: 'unreadable' });
  // A tampered row the adapter cannot even convert (a revision of 1.5: BigInt throws) is damage too.
  const unconvertible = () => new RangeError('The number 1.5 cannot be converted to a BigInt');
  t.match(await verifyLedger(storeOf(sealedLog(4), 2, unconvertible)), { ok: false, reason: 'unreadable' });
  const closed = () => Object.assign(new Error('the event store is closed'), { code: 'event-store-closed' });
  await t.rejects(verifyLedger(storeOf(sealedLog(4), 2, closed)), { code: 'event-store-closed' });
});

t.test('a long scan gives way to the event loop', async (t) => {
  const events = sealedLog(3_500);
  let turns = 0;
  let scanning = true;
  const turn = () => {
    if (!scanning) return;
    turns += 1;
    setImmediate(turn);
  };
  setImmediate(turn);
  const { report } = await scanLog(storeOf(events));
  scanning = false;
  t.match(report, { ok: true, checkedEvents: 3_500 });
  t.ok(turns >= 3, `other work ran during the scan (${turns} turns of the loop)`);
});

t.test('checkpoints', async (t) => {
  const key = IntegrityKey.loadOrCreate(t.testdir());
  const events = sealedLog(6);
  const checkpoint = await checkpointOf(key, events, 6);

  t.test('a valid one', async (t) => {
    t.same(await verifyLedger(storeOf(events), { checkpoints: [checkpoint], publicKey: key.publicKey }), {
      ok: true,
      checkedEvents: 6,
      checkpoint,
    });
  });

  t.test('signed by another key', async (t) => {
    const other = IntegrityKey.loadOrCreate(t.testdir());
    t.match(await verifyLedger(storeOf(events), { checkpoints: [checkpoint], publicKey: other.publicKey }), {
      ok: false,
      reason: 'checkpoint-signature',
    });
  });

  t.test('a rewrite, located by the earlier checkpoints', async (t) => {
    const rewritten = sealedLog(6).map((e, i) => (i >= 3 ? { ...e, id: `${e.id}-forged` } : e));
    const resealed: RecordedEvent[] = [];
    let prev = GENESIS_HASH;
    for (const e of rewritten) {
      const { integrity: _, ...metadata } = e.metadata as Record<string, unknown>;
      const hash = eventHash({
        ...e,
        prev,
        position: e.position.commit,
        metadata,
        created: e.created.toISOString(),
      });
      resealed.push({ ...e, metadata: { ...metadata, integrity: { hash, prev } } });
      prev = hash;
    }
    const scan = await scanLog(storeOf(resealed));
    t.ok(scan.report.ok, 'the chain alone is consistent');
    const checkpoints: Checkpoint[] = [
      await checkpointOf(key, events, 2),
      await checkpointOf(key, events, 3),
      await checkpointOf(key, events, 5),
      checkpoint,
    ];
    t.match(checkCheckpoints(scan, checkpoints, key.publicKey), {
      ok: false,
      firstBadPosition: 40,
      reason: 'checkpoint-mismatch',
    });
    t.match(checkCheckpoints(scan, [checkpoint], key.publicKey), { ok: false, firstBadPosition: 10 });
    t.match(
      checkCheckpoints(scan, [checkpoint], undefined),
      { ok: false },
      'roots are checked without a key',
    );
  });
});

t.test('LedgerIntegrity signs only when the log grew, and proves any position', async (t) => {
  const dir = t.testdir();
  const events = sealedLog(5);
  const clock = () => CREATED;
  const integrity = LedgerIntegrity.open({ store: storeOf(events), dataDir: dir, clock });
  const first = await integrity.checkpoint();
  t.match(first, { report: { ok: true }, checkpoint: { treeSize: 5, lastPosition: 50 } });
  t.same((await integrity.checkpoint()).checkpoint, first.checkpoint, 'not signed again');
  t.same(await integrity.verify(), { ok: true, checkedEvents: 5, checkpoint: first.checkpoint });

  // The same data dir over a longer log: the proof of a new event needs a new checkpoint.
  const longer = LedgerIntegrity.open({ store: storeOf(sealedLog(7)), dataDir: dir, clock });
  const proof = await longer.proof(70n);
  t.match(proof, { leafIndex: 6, treeSize: 7, checkpoint: { treeSize: 7 } });
  t.equal(proof?.leafHash, leafHash(proof!.eventHash).toString('hex'));
  t.match(await longer.proof(30n), { treeSize: 7 }, 'the latest checkpoint covers older events');
  t.match(proof, { position: 70, event: { position: 70, id: 'e7', metadata: { n: 7 } } });
  t.equal(await longer.proof(35n), undefined, 'no event at 35');
  t.equal(await longer.proof(80n), undefined, 'none past the end');
});
