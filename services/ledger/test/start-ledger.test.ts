import { loadConfig } from '@ledger/config';
import { startLedger } from '@ledger/ledger';
import { pino } from 'pino';
import t, { type Test } from 'tap';

const ADMIN_KEY = 'in-process-admin-key-0123456789abcdefghijklmnop';

async function ledgerIn(t: Test, env: Record<string, string> = {}) {
  const config = loadConfig({ LEDGER_DATA_DIR: t.testdir(), PORT: '0', LEDGER_ADMIN_KEY: ADMIN_KEY, ...env });
  const ledger = await startLedger(config, pino({ level: 'silent' }));
  t.teardown(() => ledger.close());
  const inject = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const response = await ledger.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    return { status: response.statusCode, headers: response.headers, body: response.json() };
  };
  return { ledger, inject };
}

const claim = (name: string, state = 'RU') => ({
  claimant: { id: 'mandiant', name: 'Mandiant', kind: 'vendor' },
  actor: { name, aliases: [] },
  attribution: { state, relation: 'sponsored-by' },
  summary: `${name} is sponsored by ${state}.`,
  source: { url: 'https://example.org/report' },
  statedAt: '2024-01-10T10:00:00Z',
});

t.test('every read route answers from the read models the in-process projector keeps', async (t) => {
  const { inject } = await ledgerIn(t);
  const sandworm = await inject('POST', '/v1/claims', claim('Sandworm'));
  t.equal(sandworm.status, 201);
  const { claimId } = sandworm.body as { claimId: string };
  const denial = await inject('POST', `/v1/claims/${claimId}/denials`, {
    denier: { id: 'ru-mfa', name: 'Russian MFA', kind: 'government' },
    statement: 'Baseless.',
    statedAt: '2024-01-11T10:00:00Z',
  });
  const second = await inject('POST', '/v1/claims', claim('Turla', 'RU'));
  const position = Math.max(denial.body.position as number, second.body.position as number);

  const one = await inject('GET', `/v1/claims/${claimId}?minPosition=${position}`);
  t.match(one, { status: 200, body: { claimId, status: 'disputed', revision: 1 } });
  const list = await inject('GET', '/v1/claims?claimant=mandiant&state=RU&limit=1');
  t.equal(list.status, 200);
  t.equal((list.body.claims as unknown[]).length, 1);
  t.type(list.body.next, 'string', 'a next cursor while more remain');
  const page2 = await inject('GET', `/v1/claims?claimant=mandiant&state=RU&limit=1&cursor=${list.body.next}`);
  t.equal(page2.body.next, null, 'null on the last page');

  const actors = await inject('GET', '/v1/actors?state=RU&status=disputed');
  t.same(
    (actors.body.actors as Array<{ actorId: string }>).map((a) => a.actorId),
    ['sandworm'],
  );
  const actor = await inject('GET', '/v1/actors/sandworm');
  t.match(actor.body, {
    actorId: 'sandworm',
    status: 'disputed',
    attributions: [{ state: 'RU', status: 'disputed', claims: 1, denials: 1, deniers: ['ru-mfa'] }],
  });
  const asOf = await inject('GET', '/v1/actors/sandworm?asOf=2024-01-10T12:00:00Z');
  t.equal(asOf.body.status, 'alleged');
  const disputes = await inject('GET', '/v1/actors/sandworm/disputes');
  t.same(
    (disputes.body.entries as Array<{ kind: string }>).map((e) => e.kind),
    ['claim', 'denial'],
  );
  const audit = await inject('GET', '/v1/audit?type=ClaimDenied,ClaimMade&party=ru-mfa');
  t.same(
    (audit.body.events as Array<{ type: string; principal: string }>).map((e) => [e.type, e.principal]),
    [['ClaimDenied', 'admin']],
    'the audit trail names the speaking party and the writing key',
  );
});

t.test('read routes refuse what they cannot answer', async (t) => {
  const { inject } = await ledgerIn(t, { LEDGER_CONSISTENCY_WAIT_MS: '50' });
  const notYet = await inject('GET', '/v1/actors?minPosition=1000');
  t.equal(notYet.status, 503);
  t.equal(notYet.headers['retry-after'], '1');
  const cursor = await inject('GET', '/v1/audit?cursor=garbage');
  t.match(cursor, { status: 400, body: { errors: [{ path: 'querystring.cursor' }] } });
  const badType = await inject('GET', '/v1/audit?type=ClaimMade,NotAType');
  t.equal(badType.status, 400);
  t.equal((await inject('GET', '/v1/actors/nobody')).status, 404);
  t.equal((await inject('GET', '/v1/actors/nobody/disputes')).status, 404);
  t.equal((await inject('GET', '/v1/claims/01929f6e-2b1c-7d3e-8f4a-5b6c7d8e9f00')).status, 404);
  const docs = await inject('GET', '/docs/json');
  t.equal(docs.status, 200, 'the OpenAPI document is served');
  t.ok((docs.body.paths as Record<string, unknown>)['/v1/actors/{actorId}'], 'and describes the read routes');
});

/** The value of the first sample of `name` carrying every label of `labels`, in any order (NaN if none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text
    .split('\n')
    .find(
      (candidate) =>
        candidate.startsWith(`${name}{`) &&
        Object.entries(labels).every(([key, value]) => candidate.includes(`${key}="${value}"`)),
    );
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test(
  'GET /metrics (no key) reports requests by route, appends, group commits and the projector',
  async (t) => {
    const { ledger, inject } = await ledgerIn(t);
    const made = await inject('POST', '/v1/claims', claim('Gamaredon'));
    t.equal(made.status, 201);
    const read = await inject('GET', `/v1/actors/gamaredon?minPosition=${made.body.position}`);
    t.equal(read.status, 200);
    const response = await ledger.app.inject({ method: 'GET', url: '/metrics' });
    t.equal(response.statusCode, 200);
    const text = response.body;
    const http = 'ledger_http_request_duration_seconds_count';
    t.equal(
      sample(text, http, { method: 'POST', route: '/v1/claims', status_code: '201', service: 'ledger' }),
      1,
    );
    t.equal(sample(text, http, { method: 'GET', route: '/v1/actors/:actorId', status_code: '200' }), 1);
    t.equal(sample(text, 'ledger_appends_total', { result: 'ok' }), 1);
    t.ok(sample(text, 'ledger_store_commit_appends_count') >= 1);
    t.ok(sample(text, 'ledger_projector_batch_events_count') >= 1);
    t.equal(sample(text, 'ledger_projector_position'), made.body.position);
    t.equal(sample(text, 'ledger_projector_lag_events'), 0);
    t.ok(sample(text, 'ledger_process_resident_memory_bytes') > 0);
  },
);

t.test('the all-in-one ledger serves the integrity routes over the events ingest wrote', async (t) => {
  const { ledger, inject } = await ledgerIn(t);
  const made = await inject('POST', '/v1/claims', claim('Sandworm'));
  t.equal(made.status, 201);
  const key = await ledger.app.inject({ method: 'GET', url: '/v1/integrity/key' });
  t.equal(key.statusCode, 200, 'the public key needs no API key');
  t.match(await inject('GET', '/v1/integrity'), {
    status: 200,
    body: { ok: true, checkedEvents: 1, checkpoint: { treeSize: 1, lastPosition: made.body.position } },
  });
  t.match(await inject('GET', `/v1/integrity/proof/${made.body.position}`), {
    status: 200,
    body: { leafIndex: 0, treeSize: 1, auditPath: [], event: { type: 'ClaimMade' } },
  });
});
