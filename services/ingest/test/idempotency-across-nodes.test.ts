/**
 * Two ingest nodes on different machines share only the event store (EventStoreDB): each has its own
 * state.db. With `EventStoreIdempotency` (what start-ingest uses for LEDGER_STORE=eventstoredb), the same
 * Idempotency-Key sent to both at once is still claimed exactly once.
 */
import { join } from 'node:path';
import { createLogger } from '@ledger/config';
import { InMemoryEventStore } from '@ledger/event-store';
import { EventStoreIdempotency, StateStore } from '@ledger/http';
import { buildIngestApp } from '@ledger/ingest';
import t from 'tap';
import { claimBody } from './fixtures/ingest.fixtures.js';

const ADMIN_KEY = 'across-nodes-admin-key-0123456789abcdefghijklmnop';

t.test('the same key on two nodes with separate state.db files', async (t) => {
  const store = new InMemoryEventStore();
  t.teardown(() => store.close());
  const config = { idempotencyTtlMs: 60_000, rateLimit: 10_000 };
  const node = async (name: string) => {
    const dir = t.testdir();
    const state = StateStore.open(join(dir, `${name}-state.db`), { scryptCost: 1024 });
    await state.keys.ensureBootstrapAdmin({ adminKey: ADMIN_KEY, dataDir: join(dir) });
    const app = await buildIngestApp({
      store,
      state,
      config,
      logger: createLogger({ logLevel: 'silent' }, 'ingest'),
      idempotency: new EventStoreIdempotency(store, { ttlMs: config.idempotencyTtlMs }),
    });
    t.teardown(async () => {
      await app.close();
      state.close();
    });
    return app;
  };
  const apps = [await node('a'), await node('b')];
  for (let i = 0; i < 10; i += 1) {
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': `across-${i}` };
    const payload = claimBody({ summary: `across nodes ${i}` });
    const answers = await Promise.all(
      apps.map((app) => app.inject({ method: 'POST', url: '/v1/claims', headers, payload })),
    );
    const handled = answers.filter(
      (a) => a.statusCode === 201 && a.headers['idempotent-replayed'] === undefined,
    );
    t.equal(handled.length, 1, `key ${i}: exactly one node appended`);
    const other = answers.find((a) => !handled.includes(a))!;
    t.ok(
      other.statusCode === 409 || other.headers['idempotent-replayed'] === 'true',
      `key ${i}: the other got 409 or a replay (${other.statusCode})`,
    );
    const retry = await apps[(i + 1) % 2]!.inject({ method: 'POST', url: '/v1/claims', headers, payload });
    t.equal(retry.headers['idempotent-replayed'], 'true', `key ${i}: a retry on either node replays`);
    t.equal(retry.json().claimId, handled[0]!.json().claimId);
  }
  let claims = 0;
  for await (const event of store.readAll({ filter: { streamNamePrefixes: ['claim-'] } })) {
    if (event.type === 'ClaimMade') claims += 1;
  }
  t.equal(claims, 10, 'one claim per key');
});
