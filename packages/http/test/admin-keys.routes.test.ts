import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  adminKeysRoutes,
  assertSpeaksAs,
  authPlugin,
  createHttpApp,
  principalOf,
  registerOpenApi,
  StateStore,
} from '@ledger/http';
import t, { type Test } from 'tap';
import { manualClock, memoryLogger, TEST_SCRYPT_COST } from './fixtures/helpers.js';

const problemType = (code: string) => `https://attribution-ledger.dev/problems/${code}`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

interface CreatedBody {
  keyId: string;
  key: string;
  name: string;
  scopes: string[];
  party?: string;
}

/** An app with the admin routes on a real state.db, and two routes to try the keys it creates on. */
async function build(t: Test, dir = t.testdir()) {
  const clock = manualClock();
  const state = StateStore.open(join(dir, 'state.db'), { scryptCost: TEST_SCRYPT_COST, clock: clock.now });
  const log = memoryLogger('trace');
  const app = createHttpApp({ logger: log.logger });
  await registerOpenApi(app, { title: 'test', version: '1.0.0' });
  await app.register(authPlugin, { keys: state.keys });
  await app.register(adminKeysRoutes, { keys: state.keys });
  app.get('/v1/whoami', { config: { scope: 'read' } }, async (request) => principalOf(request));
  app.post('/v1/claims/:claimId/denials', { config: { scope: 'denials:write' } }, async (request) => {
    assertSpeaksAs(request, (request.body as { denier: { id: string } }).denier.id);
    return { denied: true };
  });
  t.teardown(async () => {
    await app.close();
    state.close();
  });
  const admin = await state.keys.ensureBootstrapAdmin({ dataDir: dir });
  // A second app on the same data dir finds the key its first start generated.
  const adminKey = admin.key ?? readFileSync(join(dir, 'admin.key'), 'utf8').trim();
  const create = (payload: unknown, key = adminKey) =>
    app.inject({ method: 'POST', url: '/v1/admin/keys', headers: bearer(key), payload: payload as object });
  const list = (key = adminKey) => app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(key) });
  const revoke = (keyId: string, key = adminKey) =>
    app.inject({ method: 'DELETE', url: `/v1/admin/keys/${keyId}`, headers: bearer(key) });
  return { app, state, log, clock, adminKey, create, list, revoke, dir };
}

t.test('POST /v1/admin/keys', async (t) => {
  t.test('creates a key and shows its secret once, with Location', async (t) => {
    const { create, app } = await build(t);
    const response = await create({
      name: '  PRC MFA press office ',
      scopes: ['denials:write'],
      party: 'prc-mfa',
    });
    t.equal(response.statusCode, 201);
    const body = response.json<CreatedBody>();
    t.match(body, { keyId: /^[0-9a-f]{16}$/, name: 'PRC MFA press office', scopes: ['denials:write'] });
    t.equal(body.party, 'prc-mfa');
    t.match(body.key, new RegExp(`^ldg_${body.keyId}_[A-Za-z0-9_-]{20,}$`));
    t.same(Object.keys(body).sort(), ['key', 'keyId', 'name', 'party', 'scopes']);
    t.equal(response.headers.location, `/v1/admin/keys/${body.keyId}`);
    t.equal(response.headers['cache-control'], 'no-store', 'no cache keeps the secret');

    t.test('the new key works, within its scopes and party', async (t) => {
      const denial = (denier: string) => ({
        method: 'POST' as const,
        url: '/v1/claims/c1/denials',
        headers: bearer(body.key),
        payload: { denier: { id: denier } },
      });
      const own = await app.inject(denial('prc-mfa'));
      t.equal(own.statusCode, 200);
      t.same(own.json(), { denied: true });

      const other = await app.inject(denial('ru-mfa'));
      t.equal(other.statusCode, 403, 'a key bound to prc-mfa may not deny as ru-mfa');
      t.match(other.json(), { type: problemType('party-mismatch'), status: 403 });

      const read = await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(body.key) });
      t.equal(read.statusCode, 403, 'denials:write does not include read');
      t.match(read.json(), { type: problemType('insufficient-scope') });

      const admin = await app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(body.key) });
      t.equal(admin.statusCode, 403, 'nor admin');
    });
  });

  t.test('duplicate scopes are kept once; party is optional', async (t) => {
    const { create } = await build(t);
    const response = await create({ name: 'reader', scopes: ['read', 'read'] });
    t.equal(response.statusCode, 201);
    t.same(response.json<CreatedBody>().scopes, ['read']);
    t.notOk('party' in response.json<CreatedBody>());
  });

  t.test('400 names every bad field', async (t) => {
    const { create, list } = await build(t);
    const cases: [string, unknown, string[]][] = [
      ['unknown scope', { name: 'x', scopes: ['claims:write', 'superuser'] }, ['body.scopes.1']],
      ['empty name', { name: '   ', scopes: ['read'] }, ['body.name']],
      ['a control character in the name', { name: 'x\u0000y', scopes: ['read'] }, ['body.name']],
      ['extra field', { name: 'x', scopes: ['read'], expiresAt: 'never' }, ['body.expiresAt']],
      ['no scopes', { name: 'x', scopes: [] }, ['body.scopes']],
      ['bad party', { name: 'x', scopes: ['read'], party: 'Not A Slug!' }, ['body.party']],
      ['missing everything', {}, ['body.name', 'body.scopes']],
      [
        'all at once',
        { name: '', scopes: ['root'], party: 42, admin: true },
        ['body.admin', 'body.name', 'body.party', 'body.scopes.0'],
      ],
    ];
    for (const [name, payload, paths] of cases) {
      const response = await create(payload);
      t.equal(response.statusCode, 400, name);
      t.match(response.headers['content-type'], /^application\/problem\+json/, name);
      const problem = response.json<{ type: string; errors: { path: string }[] }>();
      t.equal(problem.type, problemType('invalid-request'), name);
      t.same([...new Set(problem.errors.map((e) => e.path))].sort(), paths, name);
    }
    t.equal((await list()).json<{ keys: unknown[] }>().keys.length, 1, 'nothing was created: only the admin');
  });

  t.test('a body that is not JSON or a query parameter is refused, never a 500', async (t) => {
    const { app, adminKey } = await build(t);
    const notJson = await app.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      headers: { ...bearer(adminKey), 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    t.equal(notJson.statusCode, 415);
    const broken = await app.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      headers: { ...bearer(adminKey), 'content-type': 'application/json' },
      payload: '{"name":',
    });
    t.equal(broken.statusCode, 400);
    const query = await app.inject({
      method: 'POST',
      url: '/v1/admin/keys?dryRun=1',
      headers: bearer(adminKey),
      payload: { name: 'x', scopes: ['read'] },
    });
    t.equal(query.statusCode, 400);
    t.match(query.json(), { errors: [{ path: 'querystring.dryRun' }] });
  });

  t.test('the secret never reaches the log; the creation does', async (t) => {
    const { create, log } = await build(t);
    const { key, keyId } = (await create({ name: 'msrc', scopes: ['claims:write'] })).json<CreatedBody>();
    t.notMatch(log.text(), key.slice(-20));
    t.ok(log.lines().some((line) => line.msg === 'api key created' && line.keyId === keyId));
  });
});

t.test('GET /v1/admin/keys lists the active keys, never a secret', async (t) => {
  const { create, list, app, clock, adminKey } = await build(t);
  // One second apart, so that the order (oldest first) does not depend on random key ids.
  clock.advance(1000);
  const reader = (await create({ name: 'reader', scopes: ['read'] })).json<CreatedBody>();
  clock.advance(1000);
  const msrc = (
    await create({ name: 'msrc', scopes: ['claims:write', 'retractions:write'], party: 'microsoft' })
  ).json<CreatedBody>();
  clock.advance(120_000);
  await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(reader.key) });

  const response = await list();
  t.equal(response.statusCode, 200);
  const text = response.body;
  for (const secret of [reader.key, msrc.key, adminKey]) t.notMatch(text, secret.slice(-20), 'no secret');
  t.notMatch(text, /"key"\s*:/, 'no key field at all');
  const { keys } = response.json<{ keys: Record<string, unknown>[] }>();
  t.same(keys, [
    {
      keyId: 'admin',
      name: 'bootstrap admin',
      scopes: ['admin'],
      createdAt: '2026-11-26T10:00:00.000Z',
      lastUsedAt: '2026-11-26T10:02:02.000Z',
    },
    {
      keyId: reader.keyId,
      name: 'reader',
      scopes: ['read'],
      createdAt: '2026-11-26T10:00:01.000Z',
      lastUsedAt: '2026-11-26T10:02:02.000Z',
    },
    {
      keyId: msrc.keyId,
      name: 'msrc',
      scopes: ['claims:write', 'retractions:write'],
      party: 'microsoft',
      createdAt: '2026-11-26T10:00:02.000Z',
    },
  ]);

  const unknownQuery = await app.inject({
    method: 'GET',
    url: '/v1/admin/keys?all=1',
    headers: bearer(adminKey),
  });
  t.equal(unknownQuery.statusCode, 400);
});

t.test('DELETE /v1/admin/keys/:keyId', async (t) => {
  t.test('revokes at once: the key gets 401 and leaves the list', async (t) => {
    const { create, revoke, list, app } = await build(t);
    const reader = (await create({ name: 'reader', scopes: ['read'] })).json<CreatedBody>();
    const whoami = () => app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(reader.key) });
    t.equal((await whoami()).statusCode, 200, 'works (and is cached) before');

    const response = await revoke(reader.keyId);
    t.equal(response.statusCode, 204);
    t.equal(response.body, '');

    const after = await whoami();
    t.equal(after.statusCode, 401);
    t.match(after.json(), { type: problemType('unauthorized') });
    t.notOk(
      (await list()).json<{ keys: { keyId: string }[] }>().keys.some((k) => k.keyId === reader.keyId),
      'no longer listed',
    );

    const again = await revoke(reader.keyId);
    t.equal(again.statusCode, 404, 'revoking twice is a 404');
  });

  t.test('404 problem for an unknown key, 400 for a malformed id', async (t) => {
    const { revoke } = await build(t);
    const unknown = await revoke('0000000000000000');
    t.equal(unknown.statusCode, 404);
    t.match(unknown.headers['content-type'], /^application\/problem\+json/);
    t.match(unknown.json(), {
      type: problemType('key-not-found'),
      status: 404,
      detail: 'no active key 0000000000000000',
    });
    const malformed = await revoke('NOT-A-KEY');
    t.equal(malformed.statusCode, 400);
    t.match(malformed.json(), { errors: [{ path: 'params.keyId' }] });
  });

  t.test('the bootstrap admin key is refused with 422 and keeps working', async (t) => {
    const { revoke, list } = await build(t);
    const response = await revoke('admin');
    t.equal(response.statusCode, 422);
    t.match(response.json(), {
      type: problemType('bootstrap-admin-not-revocable'),
      status: 422,
      detail: /LEDGER_ADMIN_KEY/,
    });
    t.equal((await list()).statusCode, 200, 'the admin key still works');
  });

  t.test('an admin key created over the API can be revoked', async (t) => {
    const { create, revoke, list } = await build(t);
    const second = (await create({ name: 'second admin', scopes: ['admin'] })).json<CreatedBody>();
    t.equal((await list(second.key)).statusCode, 200);
    t.equal((await revoke(second.keyId)).statusCode, 204);
    t.equal((await list(second.key)).statusCode, 401);
  });
});

t.test('every admin route needs the admin scope', async (t) => {
  const { create, list, revoke, app } = await build(t);
  const writer = (
    await create({ name: 'writer', scopes: ['claims:write', 'denials:write', 'read'] })
  ).json<CreatedBody>();
  const answers = [
    await create({ name: 'x', scopes: ['admin'] }, writer.key),
    await list(writer.key),
    await revoke(writer.keyId, writer.key),
  ];
  for (const answer of answers) {
    t.equal(answer.statusCode, 403);
    t.match(answer.json(), { type: problemType('insufficient-scope'), detail: /lacks the scope admin/ });
  }
  t.equal((await list()).json<{ keys: unknown[] }>().keys.length, 2, 'nothing was created');
  const anonymous = await app.inject({ method: 'GET', url: '/v1/admin/keys' });
  t.equal(anonymous.statusCode, 401);
});

t.test('a revocation in one process takes effect at once in another on the same state.db', async (t) => {
  const dir = t.testdir();
  const one = await build(t, dir);
  const two = await build(t, dir);
  const reader = (await one.create({ name: 'reader', scopes: ['read'] })).json<CreatedBody>();
  const whoamiOnTwo = () => two.app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(reader.key) });
  t.equal((await whoamiOnTwo()).statusCode, 200, 'the other process sees the new key (and caches it)');
  t.ok(await two.state.keys.verify(reader.key), 'the other KeyStore verifies it');

  t.equal((await one.revoke(reader.keyId)).statusCode, 204);
  t.equal((await whoamiOnTwo()).statusCode, 401, 'the other process refuses it at once');
  t.equal(await two.state.keys.verify(reader.key), undefined);
  t.equal((await two.revoke(reader.keyId)).statusCode, 404, 'and knows it is gone');
});

t.test('the routes and their schemas are in the OpenAPI document', async (t) => {
  const { app } = await build(t);
  await app.ready();
  const doc = app.swagger() as unknown as {
    paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
  };
  const keys = doc.paths['/v1/admin/keys']!;
  t.same(Object.keys(keys.post!.responses).sort(), ['201', '400', '401', '403', '413', '415']);
  t.ok(keys.post!.requestBody, 'the body schema is described');
  t.same(Object.keys(keys.get!.responses).sort(), ['200', '400', '401', '403']);
  const one = doc.paths['/v1/admin/keys/{keyId}']!;
  t.same(Object.keys(one.delete!.responses).sort(), ['204', '400', '401', '403', '404', '422']);
});
