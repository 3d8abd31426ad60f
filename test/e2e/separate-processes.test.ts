/**
 * The services run alone, as README "Running each service alone" says: ingest, projector and query as three
 * processes on one data dir (SQLite WAL across processes). And SIGTERM drains requests in flight.
 */
import t from 'tap';
import { claimBody, confirmationBody, denialBody } from './fixtures/bodies.js';
import { call, startLedgerProcess, startServiceProcess } from './fixtures/ledger-process.js';

type Written = { claimId: string; position: number };

t.test('ingest, projector and query as separate processes on one data dir', async (t) => {
  const dataDir = t.testdir();
  const ingest = await startServiceProcess('ingest', dataDir);
  t.teardown(() => ingest.stop());
  const projector = await startServiceProcess('projector', dataDir);
  t.teardown(() => projector.stop());
  const query = await startServiceProcess('query', dataDir);
  t.teardown(() => query.stop());

  const made = await call<Written>(ingest.url, 'POST', '/v1/claims', { body: claimBody() });
  t.equal(made.status, 201, 'the ingest process appends');
  const denied = await call<Written>(ingest.url, 'POST', `/v1/claims/${made.body.claimId}/denials`, {
    body: denialBody(),
  });
  const confirmed = await call<Written>(ingest.url, 'POST', `/v1/claims/${made.body.claimId}/confirmations`, {
    body: confirmationBody(),
  });
  t.equal(denied.status, 201);
  t.equal(confirmed.status, 201);

  const actor = await call<{ status: string; position: number }>(
    query.url,
    'GET',
    `/v1/actors/volt-typhoon?minPosition=${confirmed.body.position}`,
  );
  t.equal(actor.status, 200, "the query process sees the projector process's read models");
  t.equal(actor.body.status, 'contested');
  t.equal(actor.body.position, confirmed.body.position);
  t.equal(
    (await call(projector.url, 'GET', '/ready', { key: null })).status,
    200,
    'the projector reports ready',
  );
  t.equal(
    (await call(ingest.url, 'GET', '/v1/actors', {})).status,
    404,
    'each process serves only its own routes',
  );
});

t.test(
  'a query process whose read models lag the store is not ready until a projector catches up',
  async (t) => {
    const dataDir = t.testdir();
    const ingest = await startServiceProcess('ingest', dataDir);
    t.teardown(() => ingest.stop());
    for (const summary of ['one', 'two', 'three']) {
      t.equal((await call(ingest.url, 'POST', '/v1/claims', { body: claimBody({ summary }) })).status, 201);
    }
    // No projector yet: a new node's read models are empty while the store holds three events.
    const query = await startServiceProcess('query', dataDir);
    t.teardown(() => query.stop());
    const before = await call(query.url, 'GET', '/ready', { key: null });
    t.equal(before.status, 503, 'not ready: a load balancer keeps it out of the pool');
    t.equal(before.headers.get('retry-after'), '1');

    const projector = await startServiceProcess('projector', dataDir);
    t.teardown(() => projector.stop());
    let status = 503;
    for (let attempt = 0; attempt < 200 && status !== 200; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await call(query.url, 'GET', '/ready', { key: null })).status;
    }
    t.equal(status, 200, 'ready once the read models reached the head it saw at start');
    const actors = await call<{ actors: unknown[] }>(query.url, 'GET', '/v1/actors');
    t.equal(actors.body.actors.length, 1, 'and it answers from the caught-up read models');
  },
);

t.test('SIGTERM answers the requests in flight, then exits 0; every 201 survives', async (t) => {
  const dataDir = t.testdir();
  const ledger = await startLedgerProcess(dataDir);
  const inFlight = Array.from({ length: 20 }, (_, i) =>
    call<Written>(ledger.url, 'POST', '/v1/claims', { body: claimBody({ summary: `in flight ${i}` }) }),
  );
  // Signal once the server is answering this burst: the rest are in flight or about to arrive.
  await Promise.race(inFlight);
  const exit = ledger.stop();
  const answers = await Promise.allSettled(inFlight);
  t.equal(await exit, 0, 'the process exits 0');
  const acknowledged = answers.flatMap((a) =>
    a.status === 'fulfilled' && a.value.status === 201 ? [a.value] : [],
  );
  // A request that arrives once the drain has begun is refused with 503 (never acknowledged); anything else
  // would be an error answer for a request the server had accepted.
  const errors = answers.filter(
    (a) => a.status === 'fulfilled' && a.value.status !== 201 && a.value.status !== 503,
  );
  t.equal(errors.length, 0, 'every request got its 201, or a 503 refusal while draining');
  t.ok(acknowledged.length > 0, `${acknowledged.length} of 20 were acknowledged before the exit`);

  const restarted = await startLedgerProcess(dataDir);
  t.teardown(() => restarted.stop());
  const highest = Math.max(...acknowledged.map((a) => a.body.position));
  let missing = 0;
  for (const ack of acknowledged) {
    const answer = await call(restarted.url, 'GET', `/v1/claims/${ack.body.claimId}?minPosition=${highest}`);
    if (answer.status !== 200) missing += 1;
  }
  t.equal(missing, 0, 'every acknowledged claim is there after the restart');
});
