/**
 * The whole write → project → read path on the EventStoreDB adapter, in one process, over the simulated server
 * of packages/event-store-eventstoredb (no EventStoreDB runs here): two ingest apps that share only the event store
 * (separate state.db, idempotency records and API keys in the store, as start-ingest sets them up for
 * LEDGER_STORE=eventstoredb), a projector feeding its own read.db, and a query app reading it. It shows the
 * services need nothing of SQLite from the store: sparse positions with commit ≠ prepare, UUID event ids,
 * `$`-streams in `$all`, and the idempotency streams are all handled.
 */
import { join } from 'node:path';
import { createLogger, loadConfig } from '@ledger/config';
import { EventStoreDbEventStore } from '@ledger/event-store-eventstoredb';
import { EventStoreIdempotency, EventStoreKeys, StateStore } from '@ledger/http';
import { buildIngestApp } from '@ledger/ingest';
import { LedgerQueries, ReadModels } from '@ledger/projections';
import { startProjector } from '@ledger/projector';
import { buildQueryApp } from '@ledger/query';
import t from 'tap';
import { SimulatedServer } from '../../packages/event-store-eventstoredb/test/fixtures/simulated-esdb-client.js';
import { claimBody, confirmationBody, denialBody } from './fixtures/bodies.js';

const ADMIN_KEY = 'simulated-esdb-admin-key-0123456789abcdefghijklmn';

t.test('ingest ×2, projector and query on the EventStoreDB adapter', async (t) => {
  const dir = t.testdir();
  const server = new SimulatedServer();
  const silent = createLogger({ logLevel: 'silent' }, 'test');
  const config = loadConfig({
    LEDGER_DATA_DIR: dir,
    LEDGER_ADMIN_KEY: ADMIN_KEY,
    LEDGER_STORE: 'eventstoredb',
    EVENTSTOREDB_URL: 'esdb://simulated:2113?tls=false',
  });

  const ingest = async (name: string) => {
    const store = new EventStoreDbEventStore({ client: server.client() });
    const state = StateStore.open(join(dir, `${name}-state.db`), { scryptCost: 1024 });
    await state.keys.ensureBootstrapAdmin({ adminKey: ADMIN_KEY, dataDir: dir });
    const app = await buildIngestApp({
      store,
      state,
      config,
      logger: silent,
      idempotency: new EventStoreIdempotency(store, { ttlMs: config.idempotencyTtlMs }),
      // recheckMs 0: the test checks revocation across nodes without waiting out the default second.
      keys: new EventStoreKeys(store, { local: state.keys, scryptCost: 1024, recheckMs: 0 }),
    });
    t.teardown(async () => {
      await app.close();
      state.close();
      await store.close();
    });
    return app;
  };
  const [a, b] = [await ingest('a'), await ingest('b')];

  const projectorStore = new EventStoreDbEventStore({ client: server.client() });
  const readModels = ReadModels.open(join(dir, 'read.db'));
  const projector = await startProjector({ store: projectorStore, readModels, logger: silent });
  const queries = LedgerQueries.open(join(dir, 'read.db'), { runtime: projector.runtime });
  const queryState = StateStore.open(join(dir, 'query-state.db'), { scryptCost: 1024 });
  await queryState.keys.ensureBootstrapAdmin({ adminKey: ADMIN_KEY, dataDir: dir });
  const query = await buildQueryApp({
    queries,
    state: queryState,
    config,
    logger: silent,
    keys: new EventStoreKeys(projectorStore, { local: queryState.keys, recheckMs: 0 }),
  });
  t.teardown(async () => {
    await query.close();
    await projector.close();
    queries.close();
    readModels.close();
    queryState.close();
    await projectorStore.close();
  });

  const headers = { authorization: `Bearer ${ADMIN_KEY}` };
  const post = (app: typeof a, url: string, payload: object, extra: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { ...headers, ...extra }, payload });

  const createdKey = await post(a, '/v1/admin/keys', {
    name: 'acme writer',
    scopes: ['claims:write', 'read'],
  });
  t.equal(createdKey.statusCode, 201, createdKey.body);
  const { key: writerKey, keyId: writerId } = createdKey.json() as { key: string; keyId: string };
  const asWriter = { authorization: `Bearer ${writerKey}` };

  const made = await post(a, '/v1/claims', claimBody());
  t.equal(made.statusCode, 201, made.body);
  const { claimId, position } = made.json() as { claimId: string; position: number };
  t.ok(position > 1000, `the position is the store's log offset (${position})`);
  const denied = await post(b, `/v1/claims/${claimId}/denials`, denialBody());
  t.equal(denied.statusCode, 201, 'the other node writes to the same claim');
  const confirmed = await post(a, `/v1/claims/${claimId}/confirmations`, confirmationBody());
  t.equal(confirmed.statusCode, 201);

  const idem = { 'idempotency-key': 'simulated-1' };
  const both = await Promise.all([
    post(a, '/v1/claims', claimBody({ summary: 'once' }), idem),
    post(b, '/v1/claims', claimBody({ summary: 'once' }), idem),
  ]);
  t.equal(
    both.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined).length,
    1,
    'an Idempotency-Key sent to both nodes is claimed once',
  );
  const last = Math.max(
    ...[confirmed, ...both].filter((r) => r.statusCode === 201).map((r) => r.json().position),
  );

  const actor = await query.inject({
    method: 'GET',
    url: `/v1/actors/volt-typhoon?minPosition=${last}`,
    headers,
  });
  t.equal(actor.statusCode, 200, actor.body);
  t.equal(actor.json().status, 'contested');
  const audit = await query.inject({ method: 'GET', url: `/v1/audit?minPosition=${last}`, headers });
  t.same(
    (audit.json().events as Array<{ type: string }>).map((e) => e.type),
    ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimMade'],
    'the read models hold the claim events only: no idempotency or system events',
  );
  t.ok(
    server.log.some((e) => e.streamId.startsWith('idempotency-')),
    'the idempotency record is in the event store',
  );

  t.test('a key created through one ingest node works on the other and on the query node', async (t) => {
    const viaB = await b.inject({
      method: 'POST',
      url: '/v1/claims',
      headers: asWriter,
      payload: claimBody(),
    });
    t.equal(viaB.statusCode, 201, viaB.body);
    const read = await query.inject({ method: 'GET', url: `/v1/claims/${claimId}`, headers: asWriter });
    t.equal(read.statusCode, 200, read.body);
    const listed = await b.inject({ method: 'GET', url: '/v1/admin/keys', headers });
    t.ok(
      (listed.json().keys as Array<{ keyId: string }>).some((k) => k.keyId === writerId),
      'listed on the other node',
    );
    t.ok(
      server.log.some((e) => e.streamId === `apikey-${writerId}`),
      'the key record is in the event store',
    );
    const revoked = await b.inject({ method: 'DELETE', url: `/v1/admin/keys/${writerId}`, headers });
    t.equal(revoked.statusCode, 204, 'revoked through the other node');
    for (const app of [a, b, query]) {
      const refused = await app.inject({ method: 'GET', url: '/v1/admin/keys', headers: asWriter });
      t.equal(refused.statusCode, 401, 'refused everywhere once revoked');
    }
  });
});
