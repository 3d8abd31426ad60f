import { join } from 'node:path';
import {
  assertSpeaksAs,
  authPlugin,
  createHttpApp,
  principalOf,
  requireScope,
  StateStore,
} from '@ledger/http';
import t, { type Test } from 'tap';
import { memoryLogger, TEST_SCRYPT_COST } from './fixtures/helpers.js';

async function build(t: Test) {
  const dir = t.testdir();
  const state = StateStore.open(join(dir, 'state.db'), { scryptCost: TEST_SCRYPT_COST });
  const log = memoryLogger('trace');
  const app = createHttpApp({ logger: log.logger });
  await app.register(authPlugin, { keys: state.keys });
  app.get('/open', async (request) => ({ principal: request.principal ?? null }));
  app.get('/open/who', async (request) => principalOf(request));
  app.get('/v1/whoami', async (request) => principalOf(request));
  app.post('/v1/claims', { config: { scope: 'claims:write' } }, async (request) => {
    assertSpeaksAs(request, (request.body as { party: string }).party);
    return { ok: true };
  });
  app.get('/v1/things', { preHandler: requireScope('read') }, async () => ({ ok: true }));
  app.get('/v1/public', { config: { public: true } }, async (request) => ({
    principal: request.principal ?? null,
  }));
  t.teardown(async () => {
    await app.close();
    state.close();
  });
  const admin = await state.keys.ensureBootstrapAdmin({ dataDir: dir });
  const writer = await state.keys.create({ name: 'msrc', scopes: ['claims:write'], party: 'microsoft' });
  const reader = await state.keys.create({ name: 'reader', scopes: ['read'] });
  const anyWriter = await state.keys.create({ name: 'any', scopes: ['claims:write'] });
  return { app, state, log, adminKey: admin.key!, writer, reader, anyWriter };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

t.test('routes outside /v1 are open', async (t) => {
  const { app } = await build(t);
  const response = await app.inject({ method: 'GET', url: '/open' });
  t.equal(response.statusCode, 200);
  t.same(response.json(), { principal: null });
  const who = await app.inject({ method: 'GET', url: '/open/who' });
  t.equal(who.statusCode, 401, 'principalOf without a principal is a 401');
});

t.test('a /v1 route marked public needs no key', async (t) => {
  const { app } = await build(t);
  const response = await app.inject({ method: 'GET', url: '/v1/public' });
  t.equal(response.statusCode, 200);
  t.same(response.json(), { principal: null });
  const other = await app.inject({ method: 'GET', url: '/v1/whoami' });
  t.equal(other.statusCode, 401, 'its neighbours still do');
});

t.test('401 without a valid bearer key, with WWW-Authenticate', async (t) => {
  const { app, state, reader } = await build(t);
  const cases: [string, Record<string, string>][] = [
    ['no header', {}],
    ['not bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['unknown key', bearer('ldg_0000000000000000_nope')],
  ];
  for (const [name, headers] of cases) {
    const response = await app.inject({ method: 'GET', url: '/v1/whoami', headers });
    t.equal(response.statusCode, 401, name);
    t.match(response.headers['www-authenticate'], /^Bearer/, name);
    t.match(response.headers['content-type'], /^application\/problem\+json/, name);
    t.match(response.json(), { type: 'https://attribution-ledger.dev/problems/unauthorized', status: 401 });
  }
  const unknownRoute = await app.inject({ method: 'GET', url: '/v1/nowhere' });
  t.equal(unknownRoute.statusCode, 401, 'unknown /v1 routes reveal nothing without a key');

  t.test('a revoked key gets 401 at once', async (t) => {
    t.equal(
      (await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(reader.key) })).statusCode,
      200,
    );
    state.keys.revoke(reader.keyId);
    t.equal(
      (await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(reader.key) })).statusCode,
      401,
    );
  });
});

t.test('request.principal is the key', async (t) => {
  const { app, writer } = await build(t);
  const response = await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(writer.key) });
  t.same(response.json(), {
    keyId: writer.keyId,
    name: 'msrc',
    scopes: ['claims:write'],
    party: 'microsoft',
  });
  const lower = await app.inject({
    method: 'GET',
    url: '/v1/whoami',
    headers: { authorization: `bearer ${writer.key}` },
  });
  t.equal(lower.statusCode, 200, 'the scheme is case-insensitive');
});

t.test('403 when the key lacks the route scope; admin implies every scope', async (t) => {
  const { app, reader, writer, adminKey } = await build(t);
  const denied = await app.inject({
    method: 'POST',
    url: '/v1/claims',
    headers: bearer(reader.key),
    payload: { party: 'microsoft' },
  });
  t.equal(denied.statusCode, 403);
  t.match(denied.json(), { type: 'https://attribution-ledger.dev/problems/insufficient-scope', status: 403 });
  const byPreHandler = await app.inject({ method: 'GET', url: '/v1/things', headers: bearer(writer.key) });
  t.equal(byPreHandler.statusCode, 403);
  t.equal(
    (await app.inject({ method: 'GET', url: '/v1/things', headers: bearer(reader.key) })).statusCode,
    200,
  );
  t.equal(
    (await app.inject({ method: 'GET', url: '/v1/things', headers: bearer(adminKey) })).statusCode,
    200,
  );
  const admin = await app.inject({
    method: 'POST',
    url: '/v1/claims',
    headers: bearer(adminKey),
    payload: { party: 'anyone' },
  });
  t.equal(admin.statusCode, 200);
});

t.test('a party-bound key may only speak as its party', async (t) => {
  const { app, writer, anyWriter } = await build(t);
  const own = await app.inject({
    method: 'POST',
    url: '/v1/claims',
    headers: bearer(writer.key),
    payload: { party: 'microsoft' },
  });
  t.equal(own.statusCode, 200);
  const other = await app.inject({
    method: 'POST',
    url: '/v1/claims',
    headers: bearer(writer.key),
    payload: { party: 'google' },
  });
  t.equal(other.statusCode, 403);
  t.match(other.json(), { type: 'https://attribution-ledger.dev/problems/party-mismatch' });
  const unbound = await app.inject({
    method: 'POST',
    url: '/v1/claims',
    headers: bearer(anyWriter.key),
    payload: { party: 'google' },
  });
  t.equal(unbound.statusCode, 200);
});

t.test('the admin key never appears in a log line', async (t) => {
  const { app, log, adminKey } = await build(t);
  await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(adminKey) });
  await app.inject({ method: 'GET', url: '/v1/nowhere', headers: bearer(`${adminKey}x`) });
  await app.inject({ method: 'POST', url: '/v1/claims', headers: bearer(adminKey), payload: '{bad json' });
  app.log.info({ req: { headers: { authorization: `Bearer ${adminKey}` } }, key: adminKey }, 'careless');
  t.ok(log.lines().length > 5, 'requests were logged');
  t.notMatch(log.text(), adminKey.slice(10));
});
