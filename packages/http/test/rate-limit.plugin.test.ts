import { join } from 'node:path';
import {
  authPlugin,
  createHttpApp,
  healthRoutes,
  rateLimitPlugin,
  registerOpenApi,
  StateStore,
} from '@ledger/http';
import t, { type Test } from 'tap';
import { memoryLogger, TEST_SCRYPT_COST } from './fixtures/helpers.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

// An hour, so that no window can end in the middle of a test however slow the machine.
const HOUR = 3_600_000;

async function build(t: Test, max = 3) {
  const dir = t.testdir();
  const state = StateStore.open(join(dir, 'state.db'), { scryptCost: TEST_SCRYPT_COST });
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  await registerOpenApi(app, { title: 'test', version: '1.0.0' });
  await app.register(authPlugin, { keys: state.keys });
  await app.register(rateLimitPlugin, { max, timeWindowMs: HOUR });
  await app.register(healthRoutes);
  app.get('/v1/things', { config: { scope: 'read' } }, async () => ({ ok: true }));
  app.post('/v1/things', { config: { scope: 'claims:write' } }, async () => ({ ok: true }));
  t.teardown(async () => {
    await app.close();
    state.close();
  });
  const admin = (await state.keys.ensureBootstrapAdmin({ dataDir: dir })).key!;
  const reader = (await state.keys.create({ name: 'reader', scopes: ['read'] })).key;
  const other = (await state.keys.create({ name: 'other', scopes: ['read', 'claims:write'] })).key;
  const get = (key: string, url = '/v1/things') => app.inject({ method: 'GET', url, headers: bearer(key) });
  return { app, state, admin, reader, other, get };
}

t.test('a non-admin key gets a 429 problem with Retry-After on the request over the limit', async (t) => {
  const { get, reader } = await build(t);
  for (let i = 1; i <= 3; i += 1) {
    const response = await get(reader);
    t.equal(response.statusCode, 200, `request ${i} passes`);
    t.equal(response.headers['x-ratelimit-remaining'], String(3 - i), 'the remaining budget is announced');
  }
  const limited = await get(reader);
  t.equal(limited.statusCode, 429);
  t.match(limited.headers['content-type'], /^application\/problem\+json/);
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
  t.match(limited.json(), {
    type: 'https://attribution-ledger.dev/problems/rate-limited',
    title: 'Too Many Requests',
    status: 429,
    detail: /made more than 3 requests in 3600 s/,
  });
  t.ok(limited.headers['x-request-id'], 'a 429 is an ordinary problem answer');
  t.equal((await get(reader)).statusCode, 429, 'and stays limited');
});

t.test('the count is per key, across routes', async (t) => {
  const { app, get, reader, other } = await build(t);
  for (let i = 0; i < 3; i += 1) await get(reader);
  t.equal((await get(reader)).statusCode, 429);
  t.equal((await get(other)).statusCode, 200, 'another key is unaffected');
  await app.inject({ method: 'POST', url: '/v1/things', headers: bearer(other), payload: {} });
  await get(other);
  const fourth = await app.inject({ method: 'POST', url: '/v1/things', headers: bearer(other), payload: {} });
  t.equal(fourth.statusCode, 429, 'GETs and POSTs of one key share its budget');
});

t.test('admin keys are exempt', async (t) => {
  const { get, admin } = await build(t, 1);
  for (let i = 0; i < 5; i += 1) t.equal((await get(admin)).statusCode, 200);
  t.notOk((await get(admin)).headers['x-ratelimit-limit'], 'no limit announced to an admin');
});

t.test('/health, /ready and /docs are not limited', async (t) => {
  const { app } = await build(t, 1);
  for (const url of ['/health', '/ready', '/docs/json']) {
    for (let i = 0; i < 3; i += 1) {
      const response = await app.inject({ method: 'GET', url });
      t.equal(response.statusCode, 200, `${url} #${i + 1}`);
      t.notOk(response.headers['x-ratelimit-limit'], url);
    }
  }
});

t.test('refused requests are answered by auth first and do not count', async (t) => {
  const { app, get, reader } = await build(t, 1);
  for (let i = 0; i < 3; i += 1) {
    t.equal((await app.inject({ method: 'GET', url: '/v1/things' })).statusCode, 401, 'no key: 401, not 429');
    const forbidden = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(reader),
      payload: {},
    });
    t.equal(forbidden.statusCode, 403, 'lacking the scope: 403, not counted');
  }
  t.equal((await get(reader)).statusCode, 200, 'the budget of 1 is still there');
  t.equal((await get(reader)).statusCode, 429);
});

t.test('a bad limit stops the app from starting', async (t) => {
  for (const options of [{ max: 0 }, { max: 1.5 }, { max: 10, timeWindowMs: -1 }]) {
    const app = createHttpApp({ logger: memoryLogger('silent').logger });
    const state = StateStore.open(join(t.testdir(), 'state.db'));
    t.teardown(() => state.close());
    await app.register(authPlugin, { keys: state.keys });
    await t.rejects(
      async () => {
        // A fastify instance is only thenable: ready() is the promise that fails.
        await app.register(rateLimitPlugin, options).ready();
      },
      RangeError,
      JSON.stringify(options),
    );
    await app.close().catch(() => undefined);
  }
});

t.test('it needs authPlugin registered first', async (t) => {
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  await t.rejects(
    async () => {
      await app.register(rateLimitPlugin, { max: 1 }).ready();
    },
    { message: /@ledger\/http\/auth/ },
  );
  await app.close().catch(() => undefined);
});
