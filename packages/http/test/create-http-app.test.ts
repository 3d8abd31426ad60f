import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHttpApp, logOnCompletion, MAX_PARAM_LENGTH } from '@ledger/http';
import t from 'tap';
import { z } from 'zod';
import { memoryLogger } from './fixtures/helpers.js';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function get(agent: Agent, port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Rejects after `ms`: `close()` hanging until the 72 s keep-alive timeout must fail the test, not stall it. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

t.test('close() drains keep-alive connections as soon as their requests finish', async (t) => {
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  let started!: () => void;
  const slowStarted = new Promise<void>((resolve) => (started = resolve));
  const events: string[] = [];
  app.get('/fast', async () => ({ fast: true }));
  app.get('/slow', async () => {
    started();
    await sleep(300);
    events.push('handled');
    return { slow: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.teardown(() => agent.destroy());

  // An idle keep-alive connection, and a second one with a request in flight when close() starts.
  const idle = await get(agent, port, '/fast');
  t.equal(idle.headers.connection, 'keep-alive', 'connections are kept alive while serving');
  const slow = get(agent, port, '/slow');
  await slowStarted;
  const closed = app.close().then(() => events.push('closed'));
  const answer = await slow;
  t.equal(answer.status, 200);
  t.same(JSON.parse(answer.body), { slow: true }, 'the in-flight request got its full answer');
  t.equal(answer.headers.connection, 'close', 'answered with Connection: close while draining');
  await within(10_000, closed, 'close()');
  t.same(events, ['handled', 'closed'], 'close() waited for the in-flight request, and no longer');
});

t.test('path parameters up to 1024 characters are accepted', async (t) => {
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  t.teardown(() => app.close());
  app.get(
    '/v1/actors/:actorId',
    { schema: { params: z.object({ actorId: z.string() }) } },
    async (request) => ({
      length: request.params.actorId.length,
    }),
  );
  const long = 'a'.repeat(250);
  const answer = await app.inject({ method: 'GET', url: `/v1/actors/${long}` });
  t.equal(answer.statusCode, 200);
  t.same(answer.json(), { length: 250 });
  const longest = await app.inject({ method: 'GET', url: `/v1/actors/${'b'.repeat(MAX_PARAM_LENGTH)}` });
  t.equal(longest.statusCode, 200);
  const tooLong = await app.inject({ method: 'GET', url: `/v1/actors/${'c'.repeat(MAX_PARAM_LENGTH + 1)}` });
  t.equal(tooLong.statusCode, 414, 'beyond the limit fastify still refuses');
  t.match(tooLong.json(), { type: /\/uri-too-long$/, title: 'URI Too Long', status: 414 });
});

t.test('JSON bodies are UTF-8: other bytes are refused, never replaced', async (t) => {
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  t.teardown(() => app.close());
  app.post('/things', async (request) => ({ body: request.body }));
  const post = (payload: Buffer | string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/things', payload, headers: { 'content-type': contentType } });
  const latin1 = Buffer.concat([Buffer.from('{"name":"Caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
  const refused = await post(latin1);
  t.equal(refused.statusCode, 400);
  t.match(refused.json(), { type: /invalid-json$/, detail: 'the request body is not valid UTF-8' });
  const declared = await post(latin1, 'application/json; charset=ISO-8859-1');
  t.equal(declared.statusCode, 415, 'a body declared in another charset');
  t.match(declared.json(), { type: /unsupported-media-type$/, detail: /UTF-8/ });
  const utf8 = await post('{"name":"Café 🛰"}', 'application/json; charset="UTF-8"');
  t.equal(utf8.statusCode, 200);
  t.same(utf8.json(), { body: { name: 'Café 🛰' } }, 'UTF-8, declared or not, reads as sent');
  const proto = await post('{"a":1,"__proto__":{"admin":true}}');
  t.match(proto.json(), { status: 400, type: /invalid-json$/, detail: /"__proto__" or "constructor" key/ });
});

t.test('JSON bodies with a key given twice are 400 naming every duplicated path', async (t) => {
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  t.teardown(() => app.close());
  app.post('/things', async (request) => ({ body: request.body }));
  const post = (payload: string) =>
    app.inject({ method: 'POST', url: '/things', payload, headers: { 'content-type': 'application/json' } });

  const duplicated = await post('{"summary":"a","summary":"b"}');
  t.equal(duplicated.statusCode, 400);
  t.equal(duplicated.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.match(duplicated.json(), {
    type: 'https://attribution-ledger.dev/problems/invalid-request',
    status: 400,
    detail: 'invalid request: duplicate keys body.summary',
    errors: [{ path: 'body.summary', message: 'duplicate key' }],
  });

  const nested = await post(
    '{"claimant":{"id":"a","kind":"vendor","kind":"government"},"targets":[{"x":1},{"x":1,"x":2}],' +
      '"summ\\u0061ry":"a","summary":"b"}',
  );
  t.same(
    nested.json().errors.map((e: { path: string }) => e.path),
    ['body.claimant.kind', 'body.targets.1.x', 'body.summary'],
    'nested, in arrays, and escaped spellings of the same key',
  );

  const fine = await post('{"a":{"b":1},"b":{"a":[1,{"a":"a,\\"a\\":"}]},"c":"{\\"c\\":1}","d":[[],{}]}');
  t.equal(fine.statusCode, 200, 'the same key in different objects, or inside strings, is fine');
  t.same(fine.json(), { body: { a: { b: 1 }, b: { a: [1, { a: 'a,"a":' }] }, c: '{"c":1}', d: [[], {}] } });

  const proto = await post('{"__proto__":{"admin":true}}');
  t.match(proto.json(), { status: 400, type: /invalid-json$/ }, 'prototype poisoning is still refused');
  const ctor = await post('{"constructor":{"prototype":{"admin":true}}}');
  t.match(ctor.json(), { status: 400, type: /invalid-json$/ });
  const broken = await post('{"summary":');
  t.match(
    broken.json(),
    { status: 400, type: /invalid-json$/ },
    'broken JSON is invalid-json, not a duplicate',
  );

  const paths = async (payload: string) =>
    ((await post(payload)).json().errors ?? []).map((e: { path: string }) => e.path);
  t.same(await paths('{"a":1,"a":2,"a":3}'), ['body.a'], 'each path once');
  t.same(await paths('[{"a":1},{"a":1}]'), []);
  t.same(await paths('[{"a":1},{"a":1,"a":1}]'), ['body.1.a']);
  t.same(await paths('"a"'), []);
  t.same(await paths(String.raw`{"a\\":1,"a\\":{"\"":1,"b":"\\\"}"},"a\\\\":2}`), ['body.a\\']);
  t.same(await paths(' { "a" : { "a" : 1 } , "b" : [ "a" , "a" ] } '), []);
});

t.test(
  'requests Node refuses before routing are problem+json too: oversized headers, broken HTTP',
  async (t) => {
    const app = createHttpApp({ logger: memoryLogger('silent').logger });
    app.get('/v1/ping', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    t.teardown(() => app.close());
    const { port } = app.server.address() as AddressInfo;
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(text));
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk.toString();
        });
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
    const parse = (answer: string) => {
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      return { statusLine: head.split('\r\n')[0], head, body: JSON.parse(body) as Record<string, unknown> };
    };

    const big = parse(await raw(`GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    t.equal(big.statusLine, 'HTTP/1.1 431 Request Header Fields Too Large');
    t.match(big.head, /content-type: application\/problem\+json/i);
    t.match(big.body, { status: 431, type: /\/problems\/headers-too-large$/ });

    const broken = parse(await raw('NOT HTTP AT ALL\r\n\r\n'));
    t.equal(broken.statusLine, 'HTTP/1.1 400 Bad Request');
    t.match(broken.body, { status: 400, type: /\/problems\/bad-request$/ });
  },
);

t.test('one log line per answered request, with the fields a route added', async (t) => {
  const { logger, lines } = memoryLogger('info');
  const app = createHttpApp({ logger });
  t.teardown(() => app.close());
  app.post('/things', async (request, reply) => {
    logOnCompletion(request, { thingId: 't-1' });
    logOnCompletion(request, { position: 7 });
    return reply.code(201).send({ ok: true });
  });
  await app.ready();
  const created = await app.inject({ method: 'POST', url: '/things', payload: {} });
  t.equal(created.statusCode, 201);
  t.equal((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode, 404);

  const logged = lines();
  t.equal(logged.length, 2, 'no separate "incoming request" line');
  t.match(logged[0], {
    level: 30,
    msg: 'request completed',
    reqId: created.headers['x-request-id'],
    req: { method: 'POST', url: '/things' },
    res: { statusCode: 201 },
    responseTime: Number,
    thingId: 't-1',
    position: 7,
  });
  t.match(logged[1], {
    msg: 'request completed',
    req: { method: 'GET', url: '/nowhere' },
    res: { statusCode: 404 },
  });
  t.notOk('thingId' in logged[1]!, 'fields belong to their own request');
});

t.test('a request whose client leaves before the answer gets a "request aborted" line', async (t) => {
  const { logger, lines } = memoryLogger('info');
  const app = createHttpApp({ logger });
  t.teardown(() => app.close());
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  app.get('/slow', async (request) => {
    logOnCompletion(request, { subscription: 'claims' });
    arrived();
    await held;
    return { late: true };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const client = httpRequest({ host: '127.0.0.1', port, path: '/slow' });
  client.on('error', () => undefined);
  client.end();
  await started;
  client.destroy();
  const aborted = async () => lines().find((line) => line.msg === 'request aborted');
  for (let tries = 0; tries < 200 && (await aborted()) === undefined; tries += 1) await sleep(10);
  t.match(await aborted(), { level: 30, req: { method: 'GET', url: '/slow' }, subscription: 'claims' });
  release();
});
