/**
 * The multi-node layout of README "Scaling out" on one machine: two ingest, one projector and two query
 * processes on one SQLite data dir (the event store, state.db and read.db shared through WAL). Writes race
 * across processes; an Idempotency-Key sent to both ingest nodes at once is claimed exactly once; and both
 * query nodes give the same answers once they have folded the same position.
 */
import t from 'tap';
import { claimBody, denialBody } from './fixtures/bodies.js';
import { type Answer, call, startServiceProcess } from './fixtures/ledger-process.js';

type Written = { claimId: string; eventId: string; position: number; revision: number };

t.test('2 ingest + 1 projector + 2 query processes on one data dir', async (t) => {
  const dataDir = t.testdir();
  // The first process creates the files; the others open them.
  const ingestA = await startServiceProcess('ingest', dataDir);
  t.teardown(() => ingestA.stop());
  const [ingestB, projector, queryA, queryB] = await Promise.all([
    startServiceProcess('ingest', dataDir),
    startServiceProcess('projector', dataDir),
    startServiceProcess('query', dataDir),
    startServiceProcess('query', dataDir),
  ]);
  t.teardown(() => Promise.all([ingestB.stop(), projector.stop(), queryA.stop(), queryB.stop()]));
  const ingest = [ingestA.url, ingestB.url];
  let highest = 0;
  const seen = (answers: Answer<Written>[]) => {
    for (const answer of answers)
      if (answer.status === 201) highest = Math.max(highest, answer.body.position);
  };

  const claims = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      call<Written>(ingest[i % 2]!, 'POST', '/v1/claims', {
        body: claimBody({
          actor: { name: `Actor ${i % 5}`, aliases: [] },
          summary: `claim ${i}`,
        }),
      }),
    ),
  );
  t.same(
    claims.map((c) => c.status),
    claims.map(() => 201),
    'every concurrent POST to either node is acknowledged',
  );
  t.equal(new Set(claims.map((c) => c.body.position)).size, 40, 'each at a position of its own');
  seen(claims);

  const target = claims[0]!.body.claimId;
  const denials = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      call<Written>(ingest[i % 2]!, 'POST', `/v1/claims/${target}/denials`, {
        body: denialBody({ statement: `denial ${i}` }),
      }),
    ),
  );
  t.same(
    denials.map((d) => d.status),
    denials.map(() => 201),
    'writers on one claim in two processes conflict and retry: none is lost',
  );
  t.same(
    denials.map((d) => d.body.revision).sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    'the claim stream holds each denial once, at contiguous revisions',
  );
  seen(denials);

  t.test('the same Idempotency-Key sent to both ingest nodes at once is claimed exactly once', async (t) => {
    for (let i = 0; i < 10; i += 1) {
      const headers = { 'idempotency-key': `multi-node-${i}` };
      const body = claimBody({ summary: `idempotent ${i}` });
      const answers: Answer<Written>[] = await Promise.all(
        ingest.map((url) => call<Written>(url, 'POST', '/v1/claims', { body, headers })),
      );
      seen(answers);
      const first = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
      t.equal(first.length, 1, `key ${i}: one node handled it`);
      for (const other of answers.filter((a) => !first.includes(a))) {
        if (other.status === 201) {
          t.equal(other.headers.get('idempotent-replayed'), 'true', `key ${i}: the other replayed it`);
          t.equal(other.body.claimId, first[0]?.body.claimId, `key ${i}: the same claim`);
        } else t.equal(other.status, 409, `key ${i}: or was told it is in flight`);
      }
      const retry = await call<Written>(ingest[(i + 1) % 2]!, 'POST', '/v1/claims', { body, headers });
      t.equal(retry.status, 201);
      t.equal(
        retry.headers.get('idempotent-replayed'),
        'true',
        `key ${i}: a later retry on either node replays`,
      );
      t.equal(retry.body.claimId, first[0]?.body.claimId);
    }
  });

  t.test('both query nodes answer the same once they have folded the same position', async (t) => {
    const audit = await call<{ events: Array<{ position: number; data: { summary?: string } }> }>(
      queryA.url,
      'GET',
      `/v1/audit?limit=500&minPosition=${highest}`,
    );
    t.equal(audit.body.events.length, 40 + 10 + 10, 'every acknowledged write, once');
    const idempotent = audit.body.events.filter((e) => e.data.summary?.startsWith('idempotent '));
    t.equal(idempotent.length, 10, 'ten idempotent claims, each stored once');
    for (const path of [
      `/v1/audit?limit=500&minPosition=${highest}`,
      `/v1/actors?minPosition=${highest}`,
      `/v1/actors/actor-0?minPosition=${highest}`,
      `/v1/actors/volt-typhoon/disputes?minPosition=${highest}`,
      `/v1/claims?limit=500&minPosition=${highest}`,
      `/v1/claims/${target}?minPosition=${highest}`,
    ]) {
      const [a, b] = await Promise.all([call(queryA.url, 'GET', path), call(queryB.url, 'GET', path)]);
      t.equal(a.status, 200, `${path} on query node A`);
      t.same(b.body, a.body, `${path}: node B answers the same`);
    }
  });
});
