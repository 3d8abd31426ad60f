import t from 'tap';
import {
  ADMIN_KEY,
  eventually,
  type Frame,
  startQueryServer,
  subscribe,
} from './fixtures/subscriptions.fixtures.js';

const eventCount = (n: number) => (frames: Frame[]) =>
  frames.filter((f) => f.event !== undefined).length >= n;

t.test('a stream sends the history, then follows the projector live', async (t) => {
  const server = await startQueryServer(t);
  const made = await server.claim('Volt Typhoon');
  const denied = await server.deny(made.claimId);
  const sub = await subscribe(server.url, '/v1/subscriptions/all');
  t.teardown(() => sub.destroy());
  t.equal(sub.status, 200);
  t.equal(sub.response.headers['content-type'], 'text/event-stream; charset=utf-8');
  t.equal(sub.response.headers['cache-control'], 'no-cache');
  t.equal(sub.response.headers['x-accel-buffering'], 'no');
  t.equal(sub.response.headers.connection, 'keep-alive');
  await sub.until(eventCount(2));
  t.same(sub.frames[0], { retry: '2000' }, 'the first frame sets the retry delay');
  const confirmed = await server.confirm(made.claimId);
  await sub.until(eventCount(3));
  t.same(
    sub.events().map((e) => [e.id, e.event]),
    [
      [made.position, 'ClaimMade'],
      [denied, 'ClaimDenied'],
      [confirmed, 'ClaimConfirmed'],
    ],
  );
  const [audit] = server.queries.audit({ limit: 1 }).events;
  t.same(sub.events()[0]!.data, audit, 'data is the audit event');
  t.match(sub.events()[1]!.data, {
    position: denied,
    type: 'ClaimDenied',
    actorId: 'volt-typhoon',
    party: { id: 'cn-mfa', name: 'Chinese MFA' },
    data: { statement: 'Groundless.' },
  });
});

t.test('topics and filters', async (t) => {
  const server = await startQueryServer(t);
  const a = await server.claim('Volt Typhoon', 'CN');
  const b = await server.claim('Sandworm', 'RU');
  const c = await server.claim('Zirconium', 'CN');
  const written = {
    deniedA: await server.deny(a.claimId),
    deniedB: await server.deny(b.claimId),
    confirmedC: await server.confirm(c.claimId),
    retractedB: await server.retract(b.claimId),
  };
  // A marker after everything: once a catch-all stream has it, every stream has sent what it matches.
  const last = await server.claim('Lazarus Group', 'KP');
  const cases: [string, number[]][] = [
    ['claims', [a.position, b.position, c.position, last.position]],
    ['denials', [written.deniedA, written.deniedB]],
    ['confirmations', [written.confirmedC]],
    ['retractions', [written.retractedB]],
    ['denials?actor=sandworm', [written.deniedB]],
    ['all?state=CN', [a.position, c.position, written.deniedA, written.confirmedC]],
    ['all?actor=zirconium&state=CN', [c.position, written.confirmedC]],
    ['claims?state=RU', [b.position]],
  ];
  for (const [path, positions] of cases) {
    const sub = await subscribe(server.url, `/v1/subscriptions/${path}`);
    const all = await subscribe(server.url, '/v1/subscriptions/all');
    await all.until((frames) => frames.some((f) => f.id === String(last.position)));
    await sub.until(eventCount(positions.length));
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.same(
      sub.events().map((e) => e.id),
      positions,
      path,
    );
    sub.destroy();
    all.destroy();
  }
});

t.test('resume strictly after ?from=N or Last-Event-ID: N (which wins)', async (t) => {
  const server = await startQueryServer(t);
  const a = await server.claim('Volt Typhoon');
  const b = await server.claim('Sandworm');
  const c = await server.claim('Zirconium');
  const cases: [string, Record<string, string>, number[]][] = [
    ['?from=0', {}, [a.position, b.position, c.position]],
    [`?from=${a.position}`, {}, [b.position, c.position]],
    ['', { 'last-event-id': String(b.position) }, [c.position]],
    [`?from=${a.position}`, { 'last-event-id': String(b.position) }, [c.position]],
  ];
  for (const [query, headers, positions] of cases) {
    const sub = await subscribe(server.url, `/v1/subscriptions/claims${query}`, { headers });
    await sub.until(eventCount(positions.length));
    t.same(
      sub.events().map((e) => e.id),
      positions,
      `${query} ${JSON.stringify(headers)}`,
    );
    sub.destroy();
  }
});

t.test('problems before the stream starts', async (t) => {
  const server = await startQueryServer(t);
  const cases: [string, { key?: string | null; headers?: Record<string, string> }, number, RegExp][] = [
    ['/v1/subscriptions/everything', {}, 400, /params\.topic/],
    ['/v1/subscriptions/all?from=-1', {}, 400, /querystring\.from/],
    ['/v1/subscriptions/all?actor=Not%20An%20Id', {}, 400, /querystring\.actor/],
    ['/v1/subscriptions/all?state=XX', {}, 400, /querystring\.state/],
    ['/v1/subscriptions/all?limit=5', {}, 400, /limit/],
    ['/v1/subscriptions/all?minPosition=0x10', {}, 400, /querystring\.minPosition/],
    ['/v1/subscriptions/all', { headers: { 'last-event-id': 'abc' } }, 400, /headers\.last-event-id/],
    ['/v1/subscriptions/all', { headers: { 'last-event-id': '-3' } }, 400, /last-event-id/],
    ['/v1/subscriptions/all', { key: null }, 401, /Authorization/],
    ['/v1/subscriptions/all', { key: server.writerKey }, 403, /read/],
  ];
  for (const [path, options, status, detail] of cases) {
    const sub = await subscribe(server.url, path, options);
    t.equal(sub.status, status, `${path} ${JSON.stringify(options)}`);
    t.equal(sub.response.headers['content-type']?.split(';')[0], 'application/problem+json');
    t.match(JSON.stringify(await sub.body()), detail);
  }
  const docs = await fetch(`${server.url}/docs/json`);
  const spec = (await docs.json()) as {
    paths: Record<string, { get: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
  };
  const route = spec.paths['/v1/subscriptions/{topic}']!.get;
  t.ok(route.responses['200']!.content!['text/event-stream'], 'OpenAPI declares the event stream');
  t.ok(route.responses['400'] && route.responses['401'] && route.responses['403'], 'and the problems');
});

t.test('minPosition: the stream starts once the read models have folded it, else 503', async (t) => {
  const server = await startQueryServer(t, { consistencyWaitMs: 200 });
  const made = await server.claim('Volt Typhoon');
  const ahead = await subscribe(server.url, `/v1/subscriptions/all?minPosition=${made.position + 5}`);
  t.equal(ahead.status, 503);
  t.equal(ahead.response.headers['retry-after'], '1');
  t.match(await ahead.body(), { type: /not-caught-up$/ });
  const reached = await subscribe(server.url, `/v1/subscriptions/all?minPosition=${made.position}`);
  t.teardown(() => reached.destroy());
  t.equal(reached.status, 200);
  await reached.until((frames) => frames.some((frame) => frame.id !== undefined));
  t.same(
    reached.events().map((event) => event.id),
    [made.position],
  );
});

t.test('HEAD is no stream: it answers at once instead of following unseen', async (t) => {
  const server = await startQueryServer(t);
  const head = await fetch(`${server.url}/v1/subscriptions/all`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  t.equal(head.status, 404);
  t.equal(head.headers.get('content-type')?.split(';')[0], 'application/problem+json');
});

t.test('a heartbeat comment after each interval of silence', async (t) => {
  const server = await startQueryServer(t, { heartbeatMs: 30 });
  const sub = await subscribe(server.url, '/v1/subscriptions/denials');
  t.teardown(() => sub.destroy());
  await sub.until((frames) => frames.filter((f) => f.comment === 'heartbeat').length >= 2);
  // Events that the stream filters out are silence too.
  await server.claim('Sandworm');
  const seen = sub.frames.length;
  await sub.until((frames) => frames.slice(seen).some((f) => f.comment === 'heartbeat'));
  t.equal(sub.events().length, 0, 'no events on a topic that has none');
});

t.test('a client that leaves stops its stream', async (t) => {
  const server = await startQueryServer(t, { heartbeatMs: 20 });
  const sub = await subscribe(server.url, '/v1/subscriptions/all');
  await sub.until((frames) => frames.length >= 1);
  sub.destroy();
  await server.claim('Sandworm');
  await new Promise((resolve) => setTimeout(resolve, 60));
  // Closing does not wait for it: the stream ended when its client left.
  await server.close();
  t.pass('the server closed');
});

t.test('a reader that does not read is cut off, its buffer bounded', async (t) => {
  const maxBufferedBytes = 128 * 1024;
  const server = await startQueryServer(t, { maxBufferedBytes, drainTimeoutMs: 100, pageSize: 50 });
  // ~10 KB a frame: far more than the socket buffers of both ends hold.
  const summary = 'x'.repeat(9_900);
  let last = 0;
  for (let i = 0; i < 1500; i += 1) last = (await server.claim(`Actor ${i}`, 'CN', summary)).position;
  t.ok(await server.queries.waitForPosition(last, 30_000));
  const sub = await subscribe(server.url, '/v1/subscriptions/claims', { paused: true });
  const connections = () =>
    new Promise<number>((resolve, reject) =>
      server.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
  // While the client still reads nothing, the server gives up on it and drops the connection.
  await eventually(async () => (await connections()) === 0);
  const cut = server.logs().filter((line) => line.msg === 'subscription cut off: slow consumer');
  t.equal(cut.length, 1, 'the server cut the stream off');
  t.ok((cut[0]!.bufferedBytes as number) <= maxBufferedBytes, 'with a bounded buffer');
  sub.response.resume();
  const how = await sub.ended;
  t.ok(sub.events().length < 1500, 'not everything was sent');
  // Whether the final frame got through depends on the socket buffers: it did, or the connection was reset.
  if (how === 'end') t.match(JSON.parse(sub.frames.at(-1)!.data!), { type: /\/problems\/slow-consumer$/ });
  else t.equal(how, 'aborted');
});

t.test('closing the server ends open streams at once', async (t) => {
  const server = await startQueryServer(t, { heartbeatMs: 60_000 });
  const subs = await Promise.all(
    ['all', 'denials', 'claims?actor=sandworm'].map((path) =>
      subscribe(server.url, `/v1/subscriptions/${path}`),
    ),
  );
  await Promise.all(subs.map((sub) => sub.until((frames) => frames.length >= 1)));
  await server.close();
  t.same(await Promise.all(subs.map((sub) => sub.ended)), ['end', 'end', 'end'], 'each stream ended');
});
