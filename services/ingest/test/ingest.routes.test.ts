import { CURRENT_SCHEMA_VERSION } from '@ledger/domain';
import t from 'tap';
import {
  claimBody,
  confirmationBody,
  denialBody,
  retractionBody,
  setup,
} from './fixtures/ingest.fixtures.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const problemType = (code: string) => `https://attribution-ledger.dev/problems/${code}`;

t.test('POST /v1/claims', async (t) => {
  t.test('records the claim and answers 201 with Location', async (t) => {
    const { post, readStream, keys } = await setup(t);
    const response = await post('/v1/claims', claimBody(), keys.writer.key, { 'x-request-id': 'req-1' });
    t.equal(response.statusCode, 201);
    const body = response.json();
    t.match(body, { claimId: UUID_V7, eventId: UUID_V7, position: Number, revision: 0 });
    t.ok(body.position > 0);
    t.equal(response.headers.location, `/v1/claims/${body.claimId}`);

    const [event, ...rest] = await readStream(body.claimId);
    t.equal(rest.length, 0);
    t.equal(event!.id, body.eventId);
    t.equal(event!.type, 'ClaimMade');
    t.equal(Number(event!.position.commit), body.position);
    t.match(event!.data, {
      claimId: body.claimId,
      claimant: { id: 'microsoft' },
      actor: { id: 'zirconium', name: 'Zirconium', aliases: ['APT31'] },
      attribution: { state: 'CN', relation: 'operating-from' },
    });
    const { integrity, ...metadata } = event!.metadata as Record<string, unknown>;
    t.match(
      integrity,
      { hash: /^[0-9a-f]{64}$/, prev: /^[0-9a-f]{64}$/ },
      'the store sealed it into the chain',
    );
    t.same(metadata, {
      recordedAt: '2026-11-26T10:00:00.000Z',
      principal: keys.writer.keyId,
      requestId: 'req-1',
      correlationId: 'req-1',
      schemaVersion: CURRENT_SCHEMA_VERSION,
    });
  });

  t.test('correlation and causation ids come from the headers', async (t) => {
    const { post, readStream, keys } = await setup(t);
    const response = await post('/v1/claims', claimBody(), keys.writer.key, {
      'x-correlation-id': 'corr-9',
      'x-causation-id': 'cause-8',
    });
    const [event] = await readStream(response.json().claimId);
    t.match(event!.metadata, {
      correlationId: 'corr-9',
      causationId: 'cause-8',
      principal: keys.writer.keyId,
    });
    t.not((event!.metadata as { requestId: string }).requestId, 'corr-9');
  });

  t.test('text is trimmed and normalised, targets default to []', async (t) => {
    const { post, readStream } = await setup(t);
    const { targets: _targets, ...withoutTargets } = claimBody({ summary: '  Cafe\u0301 attack  ' });
    const response = await post('/v1/claims', withoutTargets);
    t.equal(response.statusCode, 201);
    const [event] = await readStream(response.json().claimId);
    t.match(event!.data, { summary: 'Caf\u00e9 attack', targets: [] });
  });

  t.test('400 names every bad field, unknown fields and actor.id included', async (t) => {
    const { post, countAll } = await setup(t);
    const bad = {
      ...claimBody(),
      attribution: { state: 'XX', relation: 'operating-from' },
      actor: { id: 'zirconium', name: 'Zirconium' },
      confidence: 101,
      source: { url: 'ftp://example.com' },
      statedAt: '2020-09-10T16:00:00',
      comment: 'not a field',
    };
    const response = await post('/v1/claims', bad);
    t.equal(response.statusCode, 400);
    t.match(response.headers['content-type'], /^application\/problem\+json/);
    const paths = response
      .json()
      .errors.map((e: { path: string }) => e.path)
      .sort();
    t.same(paths, [
      'body.actor.id',
      'body.attribution.state',
      'body.comment',
      'body.confidence',
      'body.source.url',
      'body.statedAt',
    ]);
    t.equal(await countAll(), 0);
  });

  t.test('401 without a key, 403 without the scope or speaking as another party', async (t) => {
    const { app, post, keys } = await setup(t);
    const anonymous = await app.inject({ method: 'POST', url: '/v1/claims', payload: claimBody() });
    t.equal(anonymous.statusCode, 401);
    t.match(anonymous.headers['www-authenticate'], /^Bearer/);
    const reader = await post('/v1/claims', claimBody(), keys.reader.key);
    t.equal(reader.statusCode, 403);
    t.match(reader.json(), { type: problemType('insufficient-scope') });
    const china = await post('/v1/claims', claimBody(), keys.china.key);
    t.equal(china.statusCode, 403, 'a denials-only key');
    const spoof = await post(
      '/v1/claims',
      claimBody({ claimant: { id: 'google', name: 'Google', kind: 'vendor' } }),
      keys.microsoft.key,
    );
    t.equal(spoof.statusCode, 403);
    t.match(spoof.json(), { type: problemType('party-mismatch') });
    t.equal((await post('/v1/claims', claimBody(), keys.microsoft.key)).statusCode, 201, 'as its own party');
    t.equal((await post('/v1/claims', claimBody(), keys.admin)).statusCode, 201, 'admin implies the scope');
  });

  t.test('413 over 1 MiB, 415 for another media type, 400 for broken JSON', async (t) => {
    const { app, keys } = await setup(t);
    const headers = { authorization: `Bearer ${keys.writer.key}`, 'content-type': 'application/json' };
    const big = await app.inject({
      method: 'POST',
      url: '/v1/claims',
      headers,
      payload: JSON.stringify(claimBody({ summary: 'x'.repeat(1_100_000) })),
    });
    t.equal(big.statusCode, 413);
    t.match(big.json(), { type: problemType('payload-too-large'), status: 413 });
    const text = await app.inject({
      method: 'POST',
      url: '/v1/claims',
      headers: { ...headers, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    t.equal(text.statusCode, 415);
    const broken = await app.inject({ method: 'POST', url: '/v1/claims', headers, payload: '{"claimant":' });
    t.equal(broken.statusCode, 400);
    t.match(broken.json(), { type: problemType('invalid-json') });
  });

  t.test('400 for a key given twice in the body, naming it; nothing is appended', async (t) => {
    const { app, keys, countAll } = await setup(t);
    const json = JSON.stringify(claimBody({ summary: 'first' }));
    const response = await app.inject({
      method: 'POST',
      url: '/v1/claims',
      headers: { authorization: `Bearer ${keys.writer.key}`, 'content-type': 'application/json' },
      payload: `${json.slice(0, -1)},"summary":"second"}`,
    });
    t.equal(response.statusCode, 400);
    t.match(response.json(), {
      type: problemType('invalid-request'),
      errors: [{ path: 'body.summary', message: 'duplicate key' }],
    });
    t.equal(await countAll(), 0);
  });
});

t.test('unknown query parameters are 400 on every write route, not ignored', async (t) => {
  const { post, countAll } = await setup(t);
  const created = await post('/v1/claims', claimBody());
  t.equal(created.statusCode, 201);
  const { claimId } = created.json();
  const writes: [string, unknown][] = [
    ['/v1/claims?foo=bar', claimBody()],
    [`/v1/claims/${claimId}/denials?foo=bar`, denialBody()],
    [`/v1/claims/${claimId}/confirmations?foo=bar`, confirmationBody()],
    [`/v1/claims/${claimId}/retractions?foo=bar`, retractionBody()],
  ];
  for (const [url, body] of writes) {
    const response = await post(url, body);
    t.equal(response.statusCode, 400, url);
    t.match(response.json(), {
      type: problemType('invalid-request'),
      errors: [{ path: 'querystring.foo', message: 'unknown field' }],
    });
  }
  t.equal(await countAll(), 1, 'nothing appended but the first claim');
});

t.test('denials, confirmations and retractions', async (t) => {
  const { post, readStream, keys } = await setup(t);
  const { claimId } = (await post('/v1/claims', claimBody(), keys.microsoft.key)).json();

  t.test('each appends to the claim stream and answers 201', async (t) => {
    const denial = await post(`/v1/claims/${claimId}/denials`, denialBody(), keys.china.key);
    t.equal(denial.statusCode, 201);
    t.match(denial.json(), { claimId, eventId: UUID_V7, revision: 1 });
    t.notOk(denial.headers.location);
    const confirmation = await post(`/v1/claims/${claimId}/confirmations`, confirmationBody(), keys.dhs.key);
    t.equal(confirmation.statusCode, 201);
    t.match(confirmation.json(), { claimId, revision: 2 });
    t.ok(confirmation.json().position > denial.json().position);
    const events = await readStream(claimId);
    t.same(
      events.map((e) => e.type),
      ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed'],
    );
    t.match(events[1]!.metadata, { principal: keys.china.keyId });
    t.match(events[2]!.data, {
      claimId,
      confirmer: { id: 'us-dhs' },
      caveats: ['no election systems were affected'],
    });
  });

  t.test('422 for domain rules', async (t) => {
    const vendorConfirms = await post(
      `/v1/claims/${claimId}/confirmations`,
      confirmationBody({ confirmer: { id: 'reuters', name: 'Reuters', kind: 'media' } }),
    );
    t.equal(vendorConfirms.statusCode, 422);
    t.match(vendorConfirms.json(), { type: problemType('confirmer-not-official'), status: 422 });
    const early = await post(
      `/v1/claims/${claimId}/denials`,
      denialBody({ statedAt: '2020-09-01T00:00:00Z' }),
    );
    t.match(early.json(), { type: problemType('stated-before-claim'), status: 422 });
    const notClaimant = await post(`/v1/claims/${claimId}/retractions`, retractionBody({ by: 'cn-mfa' }));
    t.match(notClaimant.json(), { type: problemType('retraction-not-by-claimant'), status: 422 });
  });

  t.test('403 when a party-bound key speaks for someone else', async (t) => {
    const asOther = await post(
      `/v1/claims/${claimId}/denials`,
      denialBody({ denier: { id: 'ru-kremlin', name: 'Kremlin', kind: 'government' } }),
      keys.china.key,
    );
    t.equal(asOther.statusCode, 403);
    const confirmAsOther = await post(
      `/v1/claims/${claimId}/confirmations`,
      confirmationBody({ confirmer: { id: 'un', name: 'UN', kind: 'intergovernmental' } }),
      keys.dhs.key,
    );
    t.equal(confirmAsOther.statusCode, 403);
    const retractAsOther = await post(
      `/v1/claims/${claimId}/retractions`,
      retractionBody({ by: 'cn-mfa' }),
      keys.microsoft.key,
    );
    t.equal(retractAsOther.statusCode, 403);
    const wrongScope = await post(`/v1/claims/${claimId}/confirmations`, confirmationBody(), keys.china.key);
    t.equal(wrongScope.statusCode, 403);
  });

  t.test('a retraction closes the claim', async (t) => {
    const retraction = await post(`/v1/claims/${claimId}/retractions`, retractionBody(), keys.microsoft.key);
    t.equal(retraction.statusCode, 201);
    t.match(retraction.json(), { claimId, revision: 3 });
    const again = await post(`/v1/claims/${claimId}/retractions`, retractionBody(), keys.microsoft.key);
    t.equal(again.statusCode, 422);
    t.match(again.json(), { type: problemType('claim-retracted') });
    const denial = await post(`/v1/claims/${claimId}/denials`, denialBody());
    t.equal(denial.statusCode, 422);
    t.equal((await readStream(claimId)).length, 4);
  });
});

t.test('the claim id in the path', async (t) => {
  const { post } = await setup(t);
  const { claimId } = (await post('/v1/claims', claimBody())).json();

  t.test('404 for an unknown claim, on every route', async (t) => {
    const unknown = '0174776e-8a00-7000-8000-0000000000ff';
    for (const [path, body] of [
      ['denials', denialBody()],
      ['confirmations', confirmationBody()],
      ['retractions', retractionBody()],
    ] as const) {
      const response = await post(`/v1/claims/${unknown}/${path}`, body);
      t.equal(response.statusCode, 404, path);
      t.match(response.json(), { type: problemType('claim-not-found'), status: 404 }, path);
    }
  });

  t.test('400 for a claim id that is not a UUID', async (t) => {
    const response = await post('/v1/claims/not-a-uuid/denials', denialBody());
    t.equal(response.statusCode, 400);
    t.same(
      response.json().errors.map((e: { path: string }) => e.path),
      ['params.claimId'],
    );
  });

  t.test('an upper-case claim id names the same claim', async (t) => {
    const response = await post(`/v1/claims/${claimId.toUpperCase()}/denials`, denialBody());
    t.equal(response.statusCode, 201);
    t.equal(response.json().claimId, claimId);
    t.equal(response.json().revision, 1);
  });

  t.test('400 for bad ids in the headers', async (t) => {
    const response = await post(`/v1/claims/${claimId}/denials`, denialBody(), undefined, {
      'x-correlation-id': 'has space',
    });
    t.equal(response.statusCode, 400);
    t.same(
      response.json().errors.map((e: { path: string }) => e.path),
      ['headers.x-correlation-id'],
    );
  });
});

t.test('the admin key never appears in a log line', async (t) => {
  const { post, keys, log } = await setup(t);
  t.equal((await post('/v1/claims', claimBody(), keys.admin)).statusCode, 201);
  t.equal((await post('/v1/claims', { nope: 1 }, keys.admin)).statusCode, 400);
  t.equal((await post('/v1/claims', claimBody(), `${keys.admin}0`)).statusCode, 401);
  t.match(
    log(),
    /"claimId":"[0-9a-f-]{36}","eventId":"[0-9a-f-]{36}","position":1,"msg":"request completed"/,
  );
  t.notMatch(log(), keys.admin.slice('ldg_admin_'.length));
});

t.test('OpenAPI describes every route and status', async (t) => {
  const { app } = await setup(t);
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
  const claims = doc.paths['/v1/claims'].post;
  t.same(Object.keys(claims.responses).sort(), [
    '201',
    '400',
    '401',
    '403',
    '409',
    '413',
    '415',
    '422',
    '429',
    '503',
  ]);
  for (const sub of ['denials', 'confirmations', 'retractions']) {
    const route = doc.paths[`/v1/claims/{claimId}/${sub}`].post;
    t.same(
      Object.keys(route.responses).sort(),
      ['201', '400', '401', '403', '404', '409', '413', '415', '422', '429', '503'],
      sub,
    );
    t.ok(
      route.parameters.some((p: { name: string }) => p.name === 'idempotency-key'),
      sub,
    );
  }
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
});
