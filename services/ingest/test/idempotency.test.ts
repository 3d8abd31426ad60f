import { join } from 'node:path';
import type { EventStore } from '@ledger/event-store';
import { requestHash, STALE_IN_FLIGHT_MS } from '@ledger/http';
import { derivedId } from '@ledger/ingest';
import Database from 'better-sqlite3';
import t from 'tap';
import {
  claimBody,
  confirmationBody,
  denialBody,
  retractionBody,
  setup,
} from './fixtures/ingest.fixtures.js';

const problemType = (code: string) => `https://attribution-ledger.dev/problems/${code}`;

/** Puts a completed record back in flight: what a crash between the append and `complete` leaves behind. */
function crashBeforeComplete(dir: string): void {
  const db = new Database(join(dir, 'state.db'));
  try {
    db.prepare(
      "UPDATE idempotency SET state = 'in-flight', status = NULL, body = NULL, headers = NULL",
    ).run();
  } finally {
    db.close();
  }
}

t.test('the same key and body replay the first response and append nothing', async (t) => {
  const { post, readStream, countAll, keys } = await setup(t);
  const headers = { 'idempotency-key': 'claim-001' };
  const first = await post('/v1/claims', claimBody(), keys.writer.key, headers);
  t.equal(first.statusCode, 201);
  t.notOk(first.headers['idempotent-replayed']);
  const { claimId } = first.json();

  // The same JSON with its fields in another order is the same body.
  const reordered = Object.fromEntries(Object.entries(claimBody()).reverse());
  const replay = await post('/v1/claims', reordered, keys.writer.key, headers);
  t.equal(replay.statusCode, 201);
  t.equal(replay.headers['idempotent-replayed'], 'true');
  t.same(replay.json(), first.json());
  t.equal(replay.headers.location, `/v1/claims/${claimId}`);
  t.equal(await countAll(), 1);
  t.match((await readStream(claimId))[0]!.metadata, { idempotencyKey: 'claim-001' });

  t.test('another body with the same key is 422', async (t) => {
    const other = await post(
      '/v1/claims',
      claimBody({ summary: 'something else' }),
      keys.writer.key,
      headers,
    );
    t.equal(other.statusCode, 422);
    t.match(other.json(), { type: problemType('idempotency-key-reused') });
    t.equal(await countAll(), 1);
  });

  t.test('keys are scoped to the writing key and the route', async (t) => {
    const byOtherKey = await post('/v1/claims', claimBody(), keys.admin, headers);
    t.equal(byOtherKey.statusCode, 201);
    t.not(byOtherKey.json().claimId, claimId);
    t.notOk(byOtherKey.headers['idempotent-replayed']);
    const onDenials = await post(`/v1/claims/${claimId}/denials`, denialBody(), keys.writer.key, headers);
    t.equal(onDenials.statusCode, 201);
    t.notOk(onDenials.headers['idempotent-replayed']);
  });
});

t.test('a denial replays on the same claim but not on another one', async (t) => {
  const { post, countAll } = await setup(t);
  const a = (await post('/v1/claims', claimBody())).json().claimId;
  const b = (await post('/v1/claims', claimBody())).json().claimId;
  const headers = { 'idempotency-key': 'deny-1' };
  const first = await post(`/v1/claims/${a}/denials`, denialBody(), undefined, headers);
  const replay = await post(`/v1/claims/${a}/denials`, denialBody(), undefined, headers);
  t.same(replay.json(), first.json());
  t.equal(replay.headers['idempotent-replayed'], 'true');
  const onB = await post(`/v1/claims/${b}/denials`, denialBody(), undefined, headers);
  t.equal(onB.statusCode, 201);
  t.equal(onB.json().claimId, b);
  t.equal(await countAll(), 4);
});

t.test(
  'an event store locked by another process: 503, nothing recorded, and the same key retries',
  async (t) => {
    const { post, countAll, dir } = await setup(t, { busyTimeoutMs: 100 });
    const other = new Database(join(dir, 'events.db'));
    t.teardown(() => other.close());
    other.exec('BEGIN IMMEDIATE');
    const headers = { 'idempotency-key': 'locked-1' };
    const refused = await post('/v1/claims', claimBody(), undefined, headers);
    t.equal(refused.statusCode, 503);
    t.equal(refused.headers['retry-after'], '1');
    t.match(refused.json(), { type: problemType('store-busy'), detail: /nothing was recorded/ });
    other.exec('ROLLBACK');
    t.equal(await countAll(), 0);
    const retried = await post('/v1/claims', claimBody(), undefined, headers);
    t.equal(retried.statusCode, 201, 'the key is free again at once: no 409 in flight');
    t.notOk(retried.headers['idempotent-replayed']);
    t.equal(await countAll(), 1);
  },
);

t.test(
  'a record taken over from a stale request is kept after a failure: that request may still append',
  async (t) => {
    const { post, state, keys, clock, dir, countAll } = await setup(t, { busyTimeoutMs: 100 });
    const body = claimBody();
    const createdAt = clock.ms();
    // A request that began, then went quiet for longer than STALE_IN_FLIGHT_MS (it may still be running).
    state.idempotency.begin({
      keyId: keys.writer.keyId,
      route: 'POST /v1/claims',
      idempotencyKey: 'slow',
      requestHash: requestHash(body),
    });
    clock.advance(STALE_IN_FLIGHT_MS);
    const other = new Database(join(dir, 'events.db'));
    t.teardown(() => other.close());
    other.exec('BEGIN IMMEDIATE');
    const failed = await post('/v1/claims', body, keys.writer.key, { 'idempotency-key': 'slow' });
    t.equal(failed.statusCode, 503, 'the take-over fails: nothing appended');
    other.exec('ROLLBACK');
    const soon = await post('/v1/claims', body, keys.writer.key, { 'idempotency-key': 'slow' });
    t.equal(soon.statusCode, 409, 'the record was not freed: the key is still in flight');
    clock.advance(STALE_IN_FLIGHT_MS);
    const later = await post('/v1/claims', body, keys.writer.key, { 'idempotency-key': 'slow' });
    t.equal(later.statusCode, 201);
    t.equal(
      later.json().claimId,
      derivedId(
        { keyId: keys.writer.keyId, route: 'POST /v1/claims', idempotencyKey: 'slow', createdAt },
        'claim',
      ),
      "with the ids of the first request's createdAt, which that request would have used too",
    );
    t.equal(await countAll(), 1);
  },
);

t.test('a concurrent duplicate is 409', async (t) => {
  const { post, state, keys, countAll } = await setup(t);
  const body = claimBody();
  state.idempotency.begin({
    keyId: keys.writer.keyId,
    route: 'POST /v1/claims',
    idempotencyKey: 'busy',
    requestHash: requestHash(body),
  });
  const response = await post('/v1/claims', body, keys.writer.key, { 'idempotency-key': 'busy' });
  t.equal(response.statusCode, 409);
  t.equal(response.headers['retry-after'], '1');
  t.match(response.json(), { type: problemType('idempotency-key-in-flight'), status: 409 });
  t.equal(await countAll(), 0);

  t.test('racing requests: one wins, the other is a 409 or a replay', async (t) => {
    const headers = { 'idempotency-key': 'race' };
    const results = await Promise.all([
      post('/v1/claims', body, keys.writer.key, headers),
      post('/v1/claims', body, keys.writer.key, headers),
    ]);
    const statuses = results.map((r) => r.statusCode).sort();
    t.ok(
      (statuses[0] === 201 && statuses[1] === 409) ||
        results.every((r) => r.json().claimId === results[0]!.json().claimId),
      `statuses ${statuses.join(', ')}`,
    );
    t.equal(await countAll(), 1);
  });
});

t.test('errors are not stored: a corrected retry may reuse the key', async (t) => {
  const { post, countAll } = await setup(t);
  const { claimId } = (await post('/v1/claims', claimBody())).json();
  const headers = { 'idempotency-key': 'confirm-1' };
  const vendor = confirmationBody({ confirmer: { id: 'reuters', name: 'Reuters', kind: 'media' } });
  const failed = await post(`/v1/claims/${claimId}/confirmations`, vendor, undefined, headers);
  t.equal(failed.statusCode, 422);
  t.match(failed.json(), { type: problemType('confirmer-not-official') });
  const fixed = await post(`/v1/claims/${claimId}/confirmations`, confirmationBody(), undefined, headers);
  t.equal(fixed.statusCode, 201);
  t.notOk(fixed.headers['idempotent-replayed']);
  t.equal(await countAll(), 2);

  t.test('a 400 never touches the idempotency record', async (t) => {
    const bad = await post(`/v1/claims/${claimId}/denials`, { statement: 'x' }, undefined, {
      'idempotency-key': 'deny-x',
    });
    t.equal(bad.statusCode, 400);
    const good = await post(`/v1/claims/${claimId}/denials`, denialBody(), undefined, {
      'idempotency-key': 'deny-x',
    });
    t.equal(good.statusCode, 201);
  });
});

t.test('an invalid Idempotency-Key is 400', async (t) => {
  const { post } = await setup(t);
  // 'a, b': what Node makes of two Idempotency-Key headers.
  for (const key of ['x'.repeat(256), 'caf\u00e9', 'a, b']) {
    const response = await post('/v1/claims', claimBody(), undefined, { 'idempotency-key': key });
    t.equal(response.statusCode, 400);
    t.same(
      response.json().errors.map((e: { path: string }) => e.path),
      ['headers.idempotency-key'],
    );
  }
  const longest = await post('/v1/claims', claimBody(), undefined, {
    'idempotency-key': `${'x'.repeat(254)} `,
  });
  t.equal(longest.statusCode, 201, '255 printable characters are fine');
});

t.test('records expire after LEDGER_IDEMPOTENCY_TTL', async (t) => {
  const { post, clock, countAll } = await setup(t, { ttlMs: 60 * 60_000 });
  const headers = { 'idempotency-key': 'ttl' };
  const first = await post('/v1/claims', claimBody(), undefined, headers);
  clock.advance(60 * 60_000 - 1);
  t.equal((await post('/v1/claims', claimBody(), undefined, headers)).headers['idempotent-replayed'], 'true');
  clock.advance(1);
  const after = await post('/v1/claims', claimBody(), undefined, headers);
  t.equal(after.statusCode, 201);
  t.notOk(after.headers['idempotent-replayed']);
  t.not(after.json().claimId, first.json().claimId);
  t.equal(await countAll(), 2);
});

t.test('a retry after a crash between append and complete finds the appended event', async (t) => {
  t.test('for a new claim', async (t) => {
    const { post, clock, dir, countAll, readStream, keys } = await setup(t);
    const headers = { 'idempotency-key': 'crash-claim' };
    const first = await post('/v1/claims', claimBody(), undefined, headers);
    crashBeforeComplete(dir);
    const busy = await post('/v1/claims', claimBody(), undefined, headers);
    t.equal(busy.statusCode, 409, 'within 60 s the record still looks in flight');
    // Something else lands on the stream before the retry: the original position is still the answer.
    t.equal((await post(`/v1/claims/${first.json().claimId}/denials`, denialBody())).statusCode, 201);
    clock.advance(STALE_IN_FLIGHT_MS);
    const retry = await post('/v1/claims', claimBody(), undefined, headers);
    t.equal(retry.statusCode, 201);
    t.same(retry.json(), first.json(), 'same claim id, event id, position and revision');
    t.equal(await countAll(), 2);
    t.same(
      (await readStream(first.json().claimId)).map((e) => e.type),
      ['ClaimMade', 'ClaimDenied'],
    );
    const replay = await post('/v1/claims', claimBody(), undefined, headers);
    t.equal(replay.headers['idempotent-replayed'], 'true', 'and the response is now stored');
    t.equal(
      first.json().claimId,
      derivedId(
        {
          keyId: keys.writer.keyId,
          route: 'POST /v1/claims',
          idempotencyKey: 'crash-claim',
          createdAt: Date.parse('2026-11-26T10:00:00.000Z'),
        },
        'claim',
      ),
    );
  });

  t.test('for a retraction, even though the claim is now retracted', async (t) => {
    const { post, clock, dir, countAll } = await setup(t);
    const { claimId } = (await post('/v1/claims', claimBody())).json();
    const headers = { 'idempotency-key': 'crash-retract' };
    const first = await post(`/v1/claims/${claimId}/retractions`, retractionBody(), undefined, headers);
    t.equal(first.statusCode, 201);
    crashBeforeComplete(dir);
    clock.advance(STALE_IN_FLIGHT_MS);
    const retry = await post(`/v1/claims/${claimId}/retractions`, retractionBody(), undefined, headers);
    t.equal(retry.statusCode, 201);
    t.same(retry.json(), first.json());
    t.equal(await countAll(), 2);
  });
});

t.test(
  'after a failure that may have appended, the key stays bound until the request is resumed',
  async (t) => {
    let failNext = false;
    const { post, clock, countAll } = await setup(t, {
      wrapStore: (store) =>
        Object.assign(Object.create(store) as EventStore, {
          appendToStream: async (...args: Parameters<EventStore['appendToStream']>) => {
            const result = await store.appendToStream(...args);
            if (failNext) {
              failNext = false;
              throw new Error('disk I/O error after the commit');
            }
            return result;
          },
          readStream: (...args: Parameters<EventStore['readStream']>) => store.readStream(...args),
        }),
    });
    const headers = { 'idempotency-key': 'io-error' };
    failNext = true;
    const failed = await post('/v1/claims', claimBody(), undefined, headers);
    t.equal(failed.statusCode, 500);
    t.equal(await countAll(), 1, 'the event did reach the store');
    t.equal((await post('/v1/claims', claimBody(), undefined, headers)).statusCode, 409);
    clock.advance(STALE_IN_FLIGHT_MS);
    const resumed = await post('/v1/claims', claimBody(), undefined, headers);
    t.equal(resumed.statusCode, 201);
    t.equal(await countAll(), 1, 'the retry found the event instead of appending a second one');
  },
);
