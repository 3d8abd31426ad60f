import { createHttpApp, healthRoutes, ProblemDetails, registerOpenApi } from '@ledger/http';
import t from 'tap';
import { z } from 'zod';
import { memoryLogger } from './fixtures/helpers.js';

t.test('OpenAPI is derived from the zod schemas and served at /docs', async (t) => {
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  t.teardown(() => app.close());
  await registerOpenApi(app, { title: 'test api', version: '1.2.3', description: 'for tests' });
  app.post(
    '/v1/things',
    {
      schema: {
        body: z.strictObject({ name: z.string() }),
        response: { 201: z.object({ id: z.string() }), 400: ProblemDetails, 401: ProblemDetails },
      },
    },
    async (_request, reply) => reply.code(201).send({ id: 'x' }),
  );
  app.get(
    '/v1/admin/things',
    { schema: { response: { 200: z.object({ id: z.string() }), 401: ProblemDetails } } },
    async () => ({ id: 'x' }),
  );
  app.get('/stream', { schema: { hide: true } }, (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
    reply.raw.end(': done\n\n');
  });
  await app.register(healthRoutes);
  await app.ready();
  const response = await app.inject({ method: 'GET', url: '/docs/json' });
  t.equal(response.statusCode, 200);
  const doc = response.json();
  t.match(doc, {
    openapi: '3.1.0',
    info: { title: 'test api', version: '1.2.3', description: 'for tests' },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearerAuth: [] }],
  });
  t.ok(doc.paths['/v1/things'].post.requestBody);
  t.ok(doc.paths['/v1/things'].post.responses['201']);
  t.ok(doc.paths['/v1/things'].post.responses['400']);
  t.match(
    doc.paths['/v1/things'].post.responses['429'],
    { description: /LEDGER_RATE_LIMIT/ },
    'an authenticated route documents the rate limit',
  );
  t.notOk(doc.paths['/v1/admin/things'].get.responses['429'], 'admin routes are never rate limited');
  t.notOk(doc.paths['/health'], 'health routes are hidden');
  const ui = await app.inject({ method: 'GET', url: '/docs' });
  t.ok([200, 302].includes(ui.statusCode));
  const page = await app.inject({ method: 'GET', url: '/docs/' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /text\/html/);
  const csp = String(page.headers['content-security-policy']);
  t.match(csp, /default-src 'self'/, 'the HTML page has a Content-Security-Policy');
  t.match(
    csp,
    /script-src 'self'(;| 'sha256-)/,
    'scripts from the ledger itself (and the UI’s own inline hashes)',
  );
  t.notMatch(csp, /unsafe-inline|unsafe-eval/);
  t.notMatch(csp, /upgrade-insecure-requests/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['x-frame-options'], 'SAMEORIGIN');
  t.notOk(page.headers['strict-transport-security']);
  const json = await app.inject({ method: 'GET', url: '/health' });
  t.equal(json.headers['x-content-type-options'], 'nosniff', 'JSON routes get the headers too');
  const missing = await app.inject({ method: 'GET', url: '/nowhere' });
  t.equal(missing.statusCode, 404);
  t.equal(missing.headers['x-frame-options'], 'SAMEORIGIN', 'and problem answers');
  const stream = await app.inject({ method: 'GET', url: '/stream' });
  t.equal(stream.headers['content-type'], 'text/event-stream');
  t.equal(
    stream.headers['x-content-type-options'],
    'nosniff',
    'and a hijacked reply writing its own head (SSE)',
  );
  t.match(String(stream.headers['content-security-policy']), /default-src 'self'/);

  t.test('without a description', async (t) => {
    const bare = createHttpApp({ logger: memoryLogger('silent').logger });
    t.teardown(() => bare.close());
    await registerOpenApi(bare, { title: 'bare', version: '0' });
    await bare.ready();
    t.notOk((await bare.inject({ method: 'GET', url: '/docs/json' })).json().info.description);
  });
});

t.test('/health is always ok; /ready follows the probe', async (t) => {
  let ready = false;
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  t.teardown(() => app.close());
  await app.register(healthRoutes, { ready: async () => ready });
  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });
  const notReady = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(notReady.statusCode, 503);
  t.equal(notReady.headers['retry-after'], '1');
  t.match(notReady.json(), { type: 'https://attribution-ledger.dev/problems/not-ready', status: 503 });
  ready = true;
  const nowReady = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(nowReady.statusCode, 200);
  t.same(nowReady.json(), { status: 'ready' });

  t.test('without a probe the service is ready', async (t) => {
    const bare = createHttpApp({ logger: memoryLogger('silent').logger });
    t.teardown(() => bare.close());
    await bare.register(healthRoutes);
    t.equal((await bare.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
  });
});
