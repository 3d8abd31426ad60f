/**
 * Hostile input against the whole ledger (every route of DESIGN §6 in one app): thousands of generated
 * malformed bodies, headers, paths and query strings. Whatever arrives: never a 5xx, every error is
 * problem+json naming its own status, and nothing is appended.
 */
import { createLogger, loadConfig } from '@ledger/config';
import { startLedger } from '@ledger/ledger';
import fc from 'fast-check';
import { pino } from 'pino';
import t from 'tap';

const ADMIN_KEY = 'hostile-input-admin-key-0123456789abcdefghijk';
// Enough to find what is findable in a few seconds per property; FUZZ_RUNS raises it for a long hunt.
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);

type Method = 'GET' | 'POST' | 'DELETE';

/** Route templates of DESIGN §6 with a slot for a path parameter. SSE is fuzzed only where it answers at once. */
const ROUTES: readonly { method: Method; path: (param: string) => string }[] = [
  { method: 'POST', path: () => '/v1/claims' },
  { method: 'POST', path: (id) => `/v1/claims/${id}/denials` },
  { method: 'POST', path: (id) => `/v1/claims/${id}/confirmations` },
  { method: 'POST', path: (id) => `/v1/claims/${id}/retractions` },
  { method: 'GET', path: (id) => `/v1/claims/${id}` },
  { method: 'GET', path: () => '/v1/claims' },
  { method: 'GET', path: () => '/v1/actors' },
  { method: 'GET', path: (id) => `/v1/actors/${id}` },
  { method: 'GET', path: (id) => `/v1/actors/${id}/disputes` },
  { method: 'GET', path: () => '/v1/audit' },
  { method: 'POST', path: () => '/v1/admin/keys' },
  { method: 'GET', path: () => '/v1/admin/keys' },
  { method: 'DELETE', path: (id) => `/v1/admin/keys/${id}` },
  { method: 'GET', path: (topic) => `/v1/subscriptions/${topic}x` },
];

/** Path parameters: anything, percent-encoded or raw (dots, slashes, NUL, lone surrogates, very long). */
const param = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom(
    '..',
    '%2e%2e',
    '%00',
    '%ff',
    '%',
    'a%2Fb',
    '__proto__',
    'constructor',
    '%ED%A0%80',
    'x'.repeat(1100),
  ),
  fc.uuid(),
);

/** Query strings built from hostile keys and values, including the real parameter names. */
const query = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'limit',
          'cursor',
          'actor',
          'state',
          'status',
          'asOf',
          'knownAt',
          'minPosition',
          'type',
        ),
        fc.constantFrom('from', 'party', 'claim', 'recordedFrom', 'recordedTo', 'claimant', '__proto__'),
        fc.string({ maxLength: 8 }),
      ),
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.constantFrom('-1', '1e999', '501', 'NaN', '0x10', '2024-13-45T25:61:61Z', '', '%', '%zz'),
        fc.integer().map(String),
      ),
    ),
    { maxLength: 5 },
  )
  .map((pairs) =>
    pairs.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&'),
  );

/** Bodies: any JSON value, JSON-looking text that is not JSON, deep nesting, prototype keys. */
const body = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{}}}',
    '{"a":1,"a":2}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    '{"claimant":{"id":"x","name":"x","kind":"vendor"},"actor":{"name":"\uD800"}}',
    'null',
    '',
  ),
  // Valid shapes with one field broken: the decoder's edges, not just its front door.
  fc
    .record({
      claimant: fc.anything(),
      actor: fc.anything(),
      attribution: fc.anything(),
      summary: fc.anything(),
      source: fc.anything(),
      statedAt: fc.anything(),
    })
    .map((value) => JSON.stringify(value)),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=latin1',
  'multipart/form-data; boundary=x',
  '',
);

const authorization = fc.oneof(
  fc.constant(`Bearer ${ADMIN_KEY}`),
  fc.constant(`Bearer ${ADMIN_KEY}`),
  fc.constantFrom(
    '',
    'Bearer',
    'Bearer ',
    'Basic YTpi',
    `bearer ${ADMIN_KEY}`,
    'Bearer ldg_x_y',
    `Bearer ${'a'.repeat(5000)}`,
  ),
  fc.string({ maxLength: 60 }).map((token) => `Bearer ${token}`),
);

t.test('generated hostile requests: never a 5xx, always problem+json, nothing appended', async (t) => {
  // No minPosition waits: a generated minPosition beyond the log answers 503 at once instead of after 5 s.
  const config = loadConfig({
    LEDGER_DATA_DIR: t.testdir(),
    PORT: '0',
    LEDGER_ADMIN_KEY: ADMIN_KEY,
    LEDGER_CONSISTENCY_WAIT_MS: '0',
  });
  const ledger = await startLedger(config, pino({ level: 'silent' }));
  t.teardown(() => ledger.close());
  const statuses = new Map<number, number>();
  let appended = 0;

  await fc.assert(
    fc.asyncProperty(
      fc.nat(ROUTES.length - 1),
      param,
      query,
      body,
      contentType,
      authorization,
      async (route, parameter, search, payload, type, auth) => {
        const { method, path } = ROUTES[route]!;
        const response = await ledger.app.inject({
          method,
          url: `${path(parameter)}${search === '' ? '' : `?${search}`}`,
          headers: {
            ...(auth === '' ? {} : { authorization: auth }),
            ...(type === '' ? {} : { 'content-type': type }),
          },
          ...(method === 'POST' || method === 'DELETE' ? { payload } : {}),
        });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        // The one 5xx the contract allows: 503 after a minPosition wait (DESIGN §6), with Retry-After.
        const retryLater = response.statusCode === 503 && response.headers['retry-after'] !== undefined;
        if (response.statusCode >= 500 && !retryLater) return false;
        if (response.statusCode === 201) appended += 1;
        if (response.statusCode >= 400) {
          if (!String(response.headers['content-type']).startsWith('application/problem+json')) return false;
          const problem = response.json() as { status?: unknown; type?: unknown; title?: unknown };
          return problem.status === response.statusCode && typeof problem.type === 'string';
        }
        return true;
      },
    ),
    { numRuns: RUNS * ROUTES.length },
  );

  t.notOk(
    [...statuses.keys()].some((status) => status >= 500 && status !== 503),
    'no 5xx but the 503 retry-later',
  );
  t.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(401) ?? 0) > 0, 'both 400s and 401s were provoked');
  // A generated body that happens to be a valid request may append; the store holds exactly those.
  const claims = await ledger.app.inject({
    method: 'GET',
    url: '/v1/audit?limit=500',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  t.equal((claims.json() as { events: unknown[] }).events.length, appended, 'nothing appended but the 201s');
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
});

t.test('no secret reaches the logs: the admin key, created keys, bearer tokens', async (t) => {
  const lines: string[] = [];
  const config = loadConfig({
    LEDGER_DATA_DIR: t.testdir(),
    PORT: '0',
    LEDGER_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'trace',
  });
  // The project's own logger (its redaction), writing into memory at the most verbose level.
  const logger = createLogger(config, 'ledger', { write: (line: string) => lines.push(line) });
  const ledger = await startLedger(config, logger);
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const created = await ledger.app.inject({
    method: 'POST',
    url: '/v1/admin/keys',
    headers: admin,
    payload: { name: 'analyst', scopes: ['read'] },
  });
  t.equal(created.statusCode, 201);
  const { key: secret, keyId } = created.json() as { key: string; keyId: string };
  // The random part alone (`ldg_<keyId>_<random>`): base64url may hold `_` itself, so split on the prefix.
  const secretPart = secret.slice(`ldg_${keyId}_`.length);
  t.equal(secretPart.length, 43, 'the 32 random bytes of the key, base64url');
  const requests = [
    { method: 'GET' as const, url: '/v1/actors', headers: { authorization: `Bearer ${secret}` } },
    { method: 'GET' as const, url: '/v1/admin/keys', headers: admin },
    { method: 'GET' as const, url: '/v1/actors', headers: { authorization: `Bearer ${ADMIN_KEY}x` } },
    { method: 'POST' as const, url: '/v1/claims', headers: admin, payload: { key: ADMIN_KEY, secret } },
    {
      method: 'GET' as const,
      // Headers other than Authorization are not logged at all (a URL is: a client must not put keys there).
      url: '/v1/claims/unknown',
      headers: { 'x-api-key': secret, cookie: `key=${ADMIN_KEY}` },
    },
  ];
  for (const request of requests) await ledger.app.inject(request);
  await ledger.close();
  t.ok(lines.length > 10, `the ledger logged (${lines.length} lines)`);
  t.notOk(
    lines.some((line) => line.includes(ADMIN_KEY)),
    'the admin key is in no line',
  );
  t.notOk(
    lines.some((line) => line.includes(secret) || line.includes(secretPart)),
    'nor a created key or its secret part',
  );
});
