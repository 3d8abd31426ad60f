import { DomainRuleError, LedgerError, NotFoundError } from '@ledger/domain';
import {
  EventStoreClosedError,
  StoreBusyError,
  StoreUnavailableError,
  WrongExpectedVersionError,
} from '@ledger/event-store';
import { createHttpApp, HttpProblem, MAX_FIELD_ERRORS, ProblemDetails } from '@ledger/http';
import t from 'tap';
import { z } from 'zod';
import { memoryLogger } from './fixtures/helpers.js';

const Body = z.strictObject({
  attribution: z.strictObject({ state: z.enum(['CN', 'RU']), relation: z.string() }),
  summary: z.string().min(1),
});

function build(bodyLimit?: number) {
  const log = memoryLogger();
  const app = createHttpApp({ logger: log.logger, ...(bodyLimit === undefined ? {} : { bodyLimit }) });
  const errorResponses = {
    400: ProblemDetails,
    404: ProblemDetails,
    409: ProblemDetails,
    422: ProblemDetails,
  };
  app.post(
    '/things',
    { schema: { body: Body, response: { 200: z.object({ ok: z.boolean() }), ...errorResponses } } },
    async () => ({
      ok: true,
    }),
  );
  app.get(
    '/things/:id',
    {
      schema: {
        params: z.object({ id: z.uuid() }),
        querystring: z.object({ limit: z.coerce.number().max(500).optional() }),
      },
    },
    async () => ({ ok: true }),
  );
  app.post(
    '/codes',
    {
      schema: {
        body: z.strictObject({
          code: z
            .string()
            .min(3)
            .regex(/^[a-z]+$/),
        }),
      },
    },
    async () => ({ ok: true }),
  );
  app.put(
    '/things/:id',
    {
      schema: {
        params: z.object({ id: z.uuid() }),
        body: Body,
        querystring: z.strictObject({ dryRun: z.enum(['true', 'false']).optional() }),
        headers: z.object({ 'x-correlation-id': z.string().max(8).optional() }),
      },
    },
    async () => ({ ok: true }),
  );
  const throwers: Record<string, () => unknown> = {
    'not-found': () => new NotFoundError('claim-not-found', 'no claim c1', { claimId: 'c1' }),
    'domain-rule': () => new DomainRuleError('claim-retracted', 'claim c1 was retracted'),
    concurrency: () =>
      Object.assign(new LedgerError('concurrency-conflict', 'moved on'), { name: 'ConcurrencyError' }),
    'ledger-other': () => new LedgerError('something-else', 'a rule of another package'),
    'wrong-version': () => new WrongExpectedVersionError('claim-1', 0n, 1n),
    'store-closed': () => new EventStoreClosedError(),
    'store-unavailable': () => new StoreUnavailableError('connection refused'),
    'store-busy': () => new StoreBusyError('database is locked'),
    'sqlite-busy': () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY_TIMEOUT' }),
    duplicate: () =>
      Object.assign(new Error('event e1: stored by another append'), { code: 'duplicate-event-id' }),
    problem: () =>
      new HttpProblem(429, 'rate-limited', 'Too Many Requests', 'slow down', {
        headers: { 'retry-after': '7' },
      }),
    unexpected: () => new Error('secret internals: /var/lib/ledger password=hunter2'),
    'not-an-object': () => 'a thrown string',
    'coded-unexpected': () => Object.assign(new Error('boom'), { code: 'EPIPE' }),
    aborted: () => Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 }),
    'server-side-reset': () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    'fastify-4xx': () =>
      Object.assign(new Error('method not allowed'), { code: 'FST_ERR_SOMETHING', statusCode: 405 }),
    'fastify-5xx': () => Object.assign(new Error('plugin broke'), { code: 'FST_ERR_OTHER', statusCode: 500 }),
    'ajv-validation': () =>
      Object.assign(new Error('bad'), {
        code: 'FST_ERR_VALIDATION',
        statusCode: 400,
        validation: [
          { instancePath: '/limit', message: 'must be <= 500' },
          { instancePath: '', keyword: 'required' },
        ],
        validationContext: 'querystring',
      }),
  };
  app.get('/throw/:kind', async (request) => {
    throw throwers[(request.params as { kind: string }).kind]!();
  });
  app.get('/bad-response', { schema: { response: { 200: z.object({ ok: z.boolean() }) } } }, async () => ({
    ok: 'yes' as unknown as boolean,
  }));
  return { app, log };
}

t.test('invalid bodies are 400 naming every bad field, unknown fields one by one', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const response = await app.inject({
    method: 'POST',
    url: '/things',
    payload: { attribution: { state: 'XX', relation: 1, extra: true }, summary: '', other: 1 },
  });
  t.equal(response.statusCode, 400);
  t.match(response.headers['content-type'], /^application\/problem\+json/);
  const body = response.json();
  t.match(body, {
    type: 'https://attribution-ledger.dev/problems/invalid-request',
    title: 'Bad Request',
    status: 400,
  });
  const paths = (body.errors as { path: string }[]).map((e) => e.path).sort();
  t.same(paths, [
    'body.attribution.extra',
    'body.attribution.relation',
    'body.attribution.state',
    'body.other',
    'body.summary',
  ]);
  t.match(body.detail, /body\.attribution\.state/);
});

t.test('params and querystring failures name their context', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const params = await app.inject({ method: 'GET', url: '/things/not-a-uuid' });
  t.equal(params.statusCode, 400);
  t.same(
    params.json().errors.map((e: { path: string }) => e.path),
    ['params.id'],
  );
  const query = await app.inject({
    method: 'GET',
    url: '/things/0174776e-8a00-7000-8000-000000000001?limit=501',
  });
  t.equal(query.statusCode, 400);
  t.same(
    query.json().errors.map((e: { path: string }) => e.path),
    ['querystring.limit'],
  );
});

t.test('every bad part of a request is named, not only the first one fastify checks', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const paths = async (url: string, payload: unknown, headers: Record<string, string> = {}) => {
    const response = await app.inject({ method: 'PUT', url, payload: payload as object, headers });
    t.equal(response.statusCode, 400);
    return response.json().errors.map((e: { path: string }) => e.path);
  };
  const good = { attribution: { state: 'CN', relation: 'x' }, summary: 's' };
  const uuid = '0174776e-8a00-7000-8000-000000000001';
  t.same(
    await paths(
      '/things/not-a-uuid?dryRun=maybe&extra=1',
      { ...good, summary: '', extra: true },
      {
        'x-correlation-id': 'far-too-long',
      },
    ),
    [
      'params.id',
      'body.summary',
      'body.extra',
      'querystring.dryRun',
      'querystring.extra',
      'headers.x-correlation-id',
    ],
    'params, then body, querystring and headers',
  );
  t.same(await paths(`/things/${uuid}?extra=1`, { ...good, summary: '' }), [
    'body.summary',
    'querystring.extra',
  ]);
  t.same(await paths(`/things/${uuid}?extra=1`, good, { 'x-correlation-id': 'far-too-long' }), [
    'querystring.extra',
    'headers.x-correlation-id',
  ]);
  t.same(await paths('/things/not-a-uuid', good), ['params.id'], 'valid parts add nothing');
});

t.test('an answer lists at most MAX_FIELD_ERRORS errors, and each path once in detail', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const unknown = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`f${i}`, 1]));
  const many = await app.inject({ method: 'POST', url: '/things', payload: { summary: 's', ...unknown } });
  t.equal(many.statusCode, 400);
  t.equal(many.json().errors.length, MAX_FIELD_ERRORS);
  t.match(many.json().detail, /\(and 4901 more errors\)$/);
  const twice = await app.inject({ method: 'POST', url: '/codes', payload: { code: 'A1' } });
  t.same(
    twice.json().errors.map((e: { path: string }) => e.path),
    ['body.code', 'body.code'],
    'two rules broken on one field: two errors',
  );
  t.equal(twice.json().detail, 'invalid request: body.code', 'and its path once in detail');
});

t.test("fastify's own errors", async (t) => {
  const { app } = build(64);
  t.teardown(() => app.close());
  const cases = [
    { payload: '{"summary":', type: 'application/json', status: 400, code: 'invalid-json' },
    { payload: '', type: 'application/json', status: 400, code: 'invalid-json' },
    {
      payload: 'summary=x',
      type: 'application/x-www-form-urlencoded',
      status: 415,
      code: 'unsupported-media-type',
    },
    { payload: 'summary', type: 'text/plain', status: 415, code: 'unsupported-media-type' },
    {
      payload: JSON.stringify({ summary: 'x'.repeat(100) }),
      type: 'application/json',
      status: 413,
      code: 'payload-too-large',
    },
  ];
  for (const c of cases) {
    const response = await app.inject({
      method: 'POST',
      url: '/things',
      payload: c.payload,
      headers: { 'content-type': c.type },
    });
    t.equal(response.statusCode, c.status, c.code);
    t.match(response.headers['content-type'], /^application\/problem\+json/);
    t.match(response.json(), { type: `https://attribution-ledger.dev/problems/${c.code}`, status: c.status });
  }
});

t.test('a proto-poisoned body is invalid JSON', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const response = await app.inject({
    method: 'POST',
    url: '/things',
    payload: '{"__proto__":{"x":1}}',
    headers: { 'content-type': 'application/json' },
  });
  t.equal(response.statusCode, 400);
});

t.test('a malformed URL is a 400 problem', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'GET', url: '/things/%E0%A4%A' });
  t.equal(response.statusCode, 400);
  t.match(response.json(), { type: 'https://attribution-ledger.dev/problems/bad-url' });
  t.ok(response.headers['x-request-id']);
});

t.test('thrown errors map by code', async (t) => {
  const { app, log } = build();
  t.teardown(() => app.close());
  const expected: Record<string, [number, string]> = {
    'not-found': [404, 'claim-not-found'],
    'domain-rule': [422, 'claim-retracted'],
    concurrency: [409, 'concurrency-conflict'],
    'ledger-other': [422, 'something-else'],
    'wrong-version': [409, 'concurrency-conflict'],
    'store-closed': [503, 'unavailable'],
    'store-unavailable': [503, 'store-unavailable'],
    'store-busy': [503, 'store-busy'],
    'sqlite-busy': [503, 'database-busy'],
    duplicate: [409, 'duplicate-event-id'],
    problem: [429, 'rate-limited'],
    unexpected: [500, 'internal'],
    'not-an-object': [500, 'internal'],
    'coded-unexpected': [500, 'internal'],
    'fastify-4xx': [405, 'method-not-allowed'],
    aborted: [400, 'request-aborted'],
    'server-side-reset': [500, 'internal'],
    'fastify-5xx': [500, 'internal'],
    'ajv-validation': [400, 'invalid-request'],
  };
  for (const [kind, [status, code]] of Object.entries(expected)) {
    const response = await app.inject({ method: 'GET', url: `/throw/${kind}` });
    t.equal(response.statusCode, status, kind);
    t.match(response.headers['content-type'], /^application\/problem\+json/, kind);
    t.match(response.json(), { type: `https://attribution-ledger.dev/problems/${code}`, status }, kind);
  }
  const problem = await app.inject({ method: 'GET', url: '/throw/problem' });
  t.equal(problem.headers['retry-after'], '7');
  t.same(problem.json(), {
    type: 'https://attribution-ledger.dev/problems/rate-limited',
    title: 'Too Many Requests',
    status: 429,
    detail: 'slow down',
  });
  const closed = await app.inject({ method: 'GET', url: '/throw/store-closed' });
  t.equal(closed.headers['retry-after'], '1');
  const away = await app.inject({ method: 'GET', url: '/throw/store-unavailable' });
  t.equal(away.headers['retry-after'], '5', 'a store that is away: retry in a few seconds');
  for (const kind of ['store-busy', 'sqlite-busy']) {
    const busy = await app.inject({ method: 'GET', url: `/throw/${kind}` });
    t.equal(busy.headers['retry-after'], '1', `${kind}: a lock held by another process, retry soon`);
  }
  const ajv = await app.inject({ method: 'GET', url: '/throw/ajv-validation' });
  t.same(ajv.json().errors, [
    { path: 'querystring.limit', message: 'must be <= 500' },
    { path: 'querystring', message: 'is invalid' },
  ]);

  t.test('a 500 shows no internals and is logged with err', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/throw/unexpected' });
    t.same(response.json(), {
      type: 'https://attribution-ledger.dev/problems/internal',
      title: 'Internal Server Error',
      status: 500,
      detail: 'an unexpected error occurred',
    });
    t.notMatch(response.body, 'hunter2');
    const logged = log.lines().find((line) => line.msg === 'unexpected error');
    t.match(logged, { level: 50, err: { message: /hunter2/ } });
  });
});

t.test('a response that breaks its own schema is a 500, not a leak', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'GET', url: '/bad-response' });
  t.equal(response.statusCode, 500);
  t.match(response.json(), { title: 'Internal Server Error' });
});

t.test('unknown routes are 404 problems', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'GET', url: '/nowhere?x=1' });
  t.equal(response.statusCode, 404);
  t.match(response.headers['content-type'], /^application\/problem\+json/);
  t.same(response.json(), {
    type: 'https://attribution-ledger.dev/problems/route-not-found',
    title: 'Not Found',
    status: 404,
    detail: 'no route GET /nowhere',
  });
});

t.test('request ids', async (t) => {
  const { app } = build();
  t.teardown(() => app.close());
  const sent = await app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'req-123' } });
  t.equal(sent.headers['x-request-id'], 'req-123');
  const generated = await app.inject({ method: 'GET', url: '/nowhere' });
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  const unsafe = await app.inject({
    method: 'GET',
    url: '/nowhere',
    headers: { 'x-request-id': 'a b\u00e9' },
  });
  t.match(unsafe.headers['x-request-id'], /^[0-9a-f-]{36}$/);
});
