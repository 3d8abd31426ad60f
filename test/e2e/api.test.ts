/**
 * The HTTP API of DESIGN §6 against the real all-in-one process: the demo scenario through the real CLI,
 * every status code a client can cause, idempotent writes, and asOf/knownAt against hand-computed answers.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { claimBody, confirmationBody, denialBody } from './fixtures/bodies.js';
import { ADMIN_KEY, call, startLedgerProcess } from './fixtures/ledger-process.js';

const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

const ledger = await startLedgerProcess(t.testdir(), { LEDGER_CONSISTENCY_WAIT_MS: '300' });
t.teardown(() => ledger.stop());
const { url } = ledger;

type Written = { claimId: string; eventId: string; position: number; revision: number };
const post = (path: string, body: unknown, headers?: Record<string, string>) =>
  call<Written & Record<string, unknown>>(url, 'POST', path, { body, ...(headers ? { headers } : {}) });

t.test('ledger demo loads the September 2020 scenario and prints the statuses', async (t) => {
  const child = spawn(process.execPath, [cli, 'demo', '--url', url, '--key', ADMIN_KEY], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  t.equal(code, 0, `the demo exits 0 ${stderr}`);
  t.match(stdout, /Zirconium\s+contested/, 'Zirconium is contested');
  t.match(stdout, /Strontium\s+contested/, 'Strontium is contested');
  t.match(stdout, /Phosphorus\s+confirmed/, 'Phosphorus is confirmed');
  t.match(stdout, /Zirconium: dispute history/);
  t.match(stdout, /denial\s+Ministry of Foreign Affairs/, "Beijing's denial is in Zirconium's history");
  t.match(stdout, /confirmation\s+US Department of Homeland Security/, "DHS's confirmation too");
});

t.test('writes answer 201 with the claim id, event id, position and revision', async (t) => {
  const made = await post('/v1/claims', claimBody());
  t.equal(made.status, 201);
  t.match(made.body, { claimId: /^[0-9a-f-]{36}$/, eventId: /^[0-9a-f-]{36}$/, revision: 0 });
  t.ok(made.body.position > 0);
  t.equal(made.headers.get('location'), `/v1/claims/${made.body.claimId}`);
  const denied = await post(`/v1/claims/${made.body.claimId}/denials`, denialBody());
  t.equal(denied.status, 201);
  t.equal(denied.body.revision, 1);
  t.ok(denied.body.position > made.body.position, 'positions increase');
  const claim = await call(url, 'GET', `/v1/claims/${made.body.claimId}?minPosition=${denied.body.position}`);
  t.equal(claim.status, 200, 'read-your-writes with minPosition');
  t.match(claim.body, { claimId: made.body.claimId, status: 'disputed', revision: 1 });
});

t.test('400 names every bad field and changes nothing', async (t) => {
  const before = await call<{ events: unknown[] }>(url, 'GET', '/v1/audit?limit=500');
  const bad = await post(
    '/v1/claims',
    claimBody({
      attribution: { state: 'XX', relation: 'operating-from' },
      confidence: 101,
      source: { url: 'ftp://example.org' },
      statedAt: '2020-09-10',
      unexpected: true,
    }),
  );
  t.equal(bad.status, 400);
  t.equal(bad.headers.get('content-type')?.split(';')[0], 'application/problem+json');
  const paths = ((bad.body.errors ?? []) as Array<{ path: string }>).map((e) => e.path).join(' ');
  for (const field of ['attribution.state', 'confidence', 'source.url', 'statedAt']) {
    t.match(paths, field, `names ${field}`);
  }
  t.match(JSON.stringify(bad.body), /unexpected/, 'names the unknown field');
  const withActorId = await post('/v1/claims', claimBody({ actor: { id: 'x', name: 'X' } }));
  t.equal(withActorId.status, 400, 'an actor.id in the body is refused');
  const notJson = await call(url, 'POST', '/v1/claims', { rawBody: '{"claimant":' });
  t.equal(notJson.status, 400, 'a body that is not JSON');
  const badLimit = await call(url, 'GET', '/v1/actors?limit=501');
  t.equal(badLimit.status, 400, 'a limit above 500');
  for (const limit of ['0x10', '1e2', '%20%205', '2.5']) {
    const loose = await call(url, 'GET', `/v1/actors?limit=${limit}`);
    t.equal(loose.status, 400, `limit=${limit} is no decimal whole number`);
  }
  const hexPosition = await call(url, 'GET', '/v1/actors?minPosition=0x1');
  t.equal(hexPosition.status, 400, 'nor is minPosition=0x1');
  const badClaimId = await call(url, 'GET', '/v1/claims/not-a-uuid');
  t.equal(badClaimId.status, 400, 'a claim id that is not a UUID');
  const after = await call<{ events: unknown[] }>(url, 'GET', '/v1/audit?limit=500');
  t.equal(after.body.events.length, before.body.events.length, 'nothing was appended');
});

t.test('401 without a key or with an unknown one', async (t) => {
  const none = await call(url, 'GET', '/v1/actors', { key: null });
  t.equal(none.status, 401);
  t.equal(none.headers.get('content-type')?.split(';')[0], 'application/problem+json');
  const unknown = await call(url, 'POST', '/v1/claims', { key: 'ldg_nope_nope', body: claimBody() });
  t.equal(unknown.status, 401);
  const health = await call(url, 'GET', '/health', { key: null });
  t.equal(health.status, 200, '/health needs no key');
});

t.test('404 for unknown claims, actors and routes', async (t) => {
  const missing = '01929f6e-2b1c-7d3e-8f4a-5b6c7d8e9f00';
  t.equal((await call(url, 'GET', `/v1/claims/${missing}`)).status, 404);
  t.equal((await post(`/v1/claims/${missing}/denials`, denialBody())).status, 404);
  t.equal((await call(url, 'GET', '/v1/actors/no-such-actor')).status, 404);
  t.equal((await call(url, 'GET', '/v1/actors/no-such-actor/disputes')).status, 404);
  const route = await call(url, 'GET', '/v1/nothing-here');
  t.equal(route.status, 404);
  t.equal(route.headers.get('content-type')?.split(';')[0], 'application/problem+json');
});

t.test('413 for a body over 1 MiB, 415 for a body that is not JSON', async (t) => {
  const huge = await post('/v1/claims', claimBody({ summary: 'x'.repeat(1024 * 1024 + 10) }));
  t.equal(huge.status, 413);
  const text = await fetch(`${url}/v1/claims`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'text/plain' },
    body: 'hello',
  });
  t.equal(text.status, 415);
});

t.test('422 when a domain rule is broken', async (t) => {
  const made = await post('/v1/claims', claimBody({ actor: { name: 'Rule Breaker' } }));
  const claimId = made.body.claimId;
  const byVendor = await post(
    `/v1/claims/${claimId}/confirmations`,
    confirmationBody({ confirmer: { id: 'other-vendor', name: 'Other', kind: 'vendor' } }),
  );
  t.equal(byVendor.status, 422, 'a confirmer must be official');
  const early = await post(`/v1/claims/${claimId}/denials`, denialBody({ statedAt: '2023-05-01T00:00:00Z' }));
  t.equal(early.status, 422, 'a denial may not be stated before the claim');
  const notClaimant = await post(`/v1/claims/${claimId}/retractions`, {
    by: 'someone-else',
    reason: 'not mine',
    statedAt: '2023-06-01T00:00:00Z',
  });
  t.equal(notClaimant.status, 422, 'only the claimant may retract');
  const retracted = await post(`/v1/claims/${claimId}/retractions`, {
    by: 'acme-intel',
    reason: 'Attribution withdrawn after review.',
    statedAt: '2023-06-01T00:00:00Z',
  });
  t.equal(retracted.status, 201);
  t.equal(
    (await post(`/v1/claims/${claimId}/denials`, denialBody())).status,
    422,
    'a retracted claim takes no denial',
  );
  const again = await post(`/v1/claims/${claimId}/retractions`, {
    by: 'acme-intel',
    reason: 'twice',
    statedAt: '2023-06-02T00:00:00Z',
  });
  t.equal(again.status, 422, 'nor a second retraction');
});

t.test('503 with Retry-After when the read models have not reached minPosition', async (t) => {
  const answer = await call(url, 'GET', '/v1/actors?minPosition=999999999');
  t.equal(answer.status, 503);
  t.ok(answer.headers.get('retry-after'), 'Retry-After is set');
});

t.test('Idempotency-Key: replay, mismatch, and reuse after an error', async (t) => {
  const key = { 'idempotency-key': `e2e-${Date.now()}` };
  const body = claimBody({ actor: { name: 'Idempotent Panda' } });
  const first = await post('/v1/claims', body, key);
  t.equal(first.status, 201);
  const replay = await post('/v1/claims', body, key);
  t.equal(replay.status, 201);
  t.equal(replay.headers.get('idempotent-replayed'), 'true');
  t.same(replay.body, first.body, 'the first response, replayed');
  const reordered = Object.fromEntries(Object.entries(body).reverse());
  t.same((await post('/v1/claims', reordered, key)).body, first.body, 'the same body in another key order');
  const other = await post('/v1/claims', { ...body, summary: 'something else' }, key);
  t.equal(other.status, 422, 'the same key with another body');
  const audit = await call<{ events: unknown[] }>(url, 'GET', `/v1/audit?claim=${first.body.claimId}`);
  t.equal(audit.body.events.length, 1, 'one event appended, however many retries');

  const reuse = { 'idempotency-key': `e2e-reuse-${Date.now()}` };
  const failed = await post('/v1/claims', { ...body, confidence: 1000 }, reuse);
  t.equal(failed.status, 400);
  const corrected = await post('/v1/claims', body, reuse);
  t.equal(corrected.status, 201, 'errors are not stored: a corrected retry may reuse the key');
  t.not(corrected.body.claimId, first.body.claimId);
});

t.test('asOf and knownAt rebuild any past moment', async (t) => {
  // Stated: claim 2020-09-10T13:00, confirmation 20:00, denial 09-11T08:00. Recorded: claim, denial, confirmation.
  const claim = await post(
    '/v1/claims',
    claimBody({ actor: { name: 'Time Traveller' }, statedAt: '2020-09-10T13:00:00Z' }),
  );
  const denial = await post(
    `/v1/claims/${claim.body.claimId}/denials`,
    denialBody({ statedAt: '2020-09-11T08:00:00Z' }),
  );
  const confirmation = await post(
    `/v1/claims/${claim.body.claimId}/confirmations`,
    confirmationBody({ statedAt: '2020-09-10T20:00:00Z' }),
  );
  const audit = await call<{ events: Array<{ type: string; recordedAt: string }> }>(
    url,
    'GET',
    `/v1/audit?claim=${claim.body.claimId}&minPosition=${confirmation.body.position}`,
  );
  const recorded = Object.fromEntries(audit.body.events.map((e) => [e.type, e.recordedAt]));
  const status = async (query: string) =>
    (await call<{ status: string }>(url, 'GET', `/v1/actors/time-traveller?${query}`)).body.status;

  t.equal(await status(''), 'contested', 'now: denied and confirmed');
  t.equal(await status('asOf=2020-09-10T15:00:00Z'), 'alleged', 'as of the afternoon: only the claim');
  t.equal(
    await status('asOf=2020-09-10T21:00:00Z'),
    'confirmed',
    'as of the evening: confirmed, not yet denied',
  );
  t.equal(await status('asOf=2020-09-11T10:00:00%2B02:00'), 'contested', 'zones are honoured');
  t.equal(
    await status('asOf=2020-09-11T10:00:00+02:00'),
    'contested',
    'an offset whose + was not percent-encoded (it arrives as a space) means the same',
  );
  t.equal(
    (await call(url, 'GET', '/v1/actors/time-traveller?asOf=2020-09-09T00:00:00Z')).status,
    404,
    'before any claim: 404',
  );
  t.equal(
    await status(`knownAt=${encodeURIComponent(recorded.ClaimMade!)}`),
    'alleged',
    'known after the claim',
  );
  t.equal(
    await status(`knownAt=${encodeURIComponent(recorded.ClaimDenied!)}`),
    'disputed',
    'after the denial',
  );
  t.equal(
    await status(`asOf=2020-09-10T21:00:00Z&knownAt=${encodeURIComponent(recorded.ClaimDenied!)}`),
    'alleged',
    'both cut-offs: the confirmation was stated but not yet known, the denial known but not yet stated',
  );
  const disputes = await call<{ entries: Array<{ kind: string }> }>(
    url,
    'GET',
    '/v1/actors/time-traveller/disputes?asOf=2020-09-10T21:00:00Z',
  );
  t.same(
    disputes.body.entries.map((e) => e.kind),
    ['claim', 'confirmation'],
    'the dispute history as of that moment, by statedAt',
  );
  t.ok(denial.body.position < confirmation.body.position);
});

t.test('lists page with cursors and filter', async (t) => {
  const made: string[] = [];
  let last = 0;
  for (const name of ['Page One', 'Page Two', 'Page Three']) {
    const answer = await post(
      '/v1/claims',
      claimBody({ actor: { name }, attribution: { state: 'KP', relation: 'directed-by' } }),
    );
    made.push(answer.body.claimId);
    last = answer.body.position;
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `/v1/actors?state=KP&limit=2&minPosition=${last}${cursor ? `&cursor=${cursor}` : ''}`;
    const page: { status: number; body: { actors: Array<{ actorId: string }>; next: string | null } } =
      await call(url, 'GET', query);
    t.equal(page.status, 200);
    seen.push(...page.body.actors.map((a) => a.actorId));
    cursor = page.body.next;
  } while (cursor !== null);
  t.same(
    seen,
    ['page-one', 'page-three', 'page-two'],
    'every actor once, ordered by id, next null at the end',
  );
  const bad = await call(url, 'GET', '/v1/actors?cursor=%%%not-a-cursor');
  t.equal(bad.status, 400, 'an invalid cursor is a 400');
  const claims = await call<{ claims: Array<{ claimId: string }> }>(
    url,
    'GET',
    '/v1/claims?state=KP&limit=500',
  );
  t.same(claims.body.claims.map((c) => c.claimId).sort(), [...made].sort(), 'claims filtered by state');
});
