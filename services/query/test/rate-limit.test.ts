import { join } from 'node:path';
import { loadConfig } from '@ledger/config';
import { StateStore } from '@ledger/http';
import { LedgerQueries, ReadModels } from '@ledger/projections';
import { buildQueryApp } from '@ledger/query';
import { pino } from 'pino';
import t from 'tap';

const ADMIN_KEY = 'query-rate-limit-admin-key-0123456789abcdefghij';

t.test('the query app limits each non-admin key to LEDGER_RATE_LIMIT requests per minute', async (t) => {
  const dir = t.testdir();
  const readModels = ReadModels.open(join(dir, 'read.db'));
  const queries = LedgerQueries.open(join(dir, 'read.db'));
  const state = StateStore.open(join(dir, 'state.db'), { scryptCost: 1024 });
  await state.keys.ensureBootstrapAdmin({ adminKey: ADMIN_KEY, dataDir: dir });
  const reader = await state.keys.create({ name: 'reader', scopes: ['read'] });
  const other = await state.keys.create({ name: 'other', scopes: ['read'] });
  const config = loadConfig({ LEDGER_DATA_DIR: dir, LEDGER_RATE_LIMIT: '2', LEDGER_ADMIN_KEY: ADMIN_KEY });
  const app = await buildQueryApp({ queries, state, config, logger: pino({ level: 'silent' }) });
  t.teardown(async () => {
    await app.close();
    queries.close();
    readModels.close();
    state.close();
  });
  const get = (key: string, url = '/v1/actors') =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });

  t.equal((await get(reader.key)).statusCode, 200);
  t.equal((await get(reader.key, '/v1/claims')).statusCode, 200);
  const limited = await get(reader.key);
  t.equal(limited.statusCode, 429, 'the third request in the minute');
  t.match(limited.headers['content-type'], /^application\/problem\+json/);
  t.match(limited.headers['retry-after'], /^[1-9][0-9]*$/);
  t.match(limited.json(), { type: 'https://attribution-ledger.dev/problems/rate-limited', status: 429 });

  t.equal((await get(other.key)).statusCode, 200, 'another key is unaffected');
  for (let i = 0; i < 3; i += 1) t.equal((await get(ADMIN_KEY)).statusCode, 200, 'admin is exempt');
  for (let i = 0; i < 3; i += 1) {
    t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, '/health is not limited');
  }
});
