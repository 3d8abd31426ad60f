import { InMemoryEventStore, WrongExpectedVersionError } from '@ledger/event-store';
import {
  type BatchObservation,
  createHttpApp,
  LedgerMetrics,
  metricsPlugin,
  type ProjectorSource,
} from '@ledger/http';
import t from 'tap';
import { memoryLogger } from './fixtures/helpers.js';

/** The value of one sample line of a Prometheus text exposition (`name{labels} value`), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const event = (n: number) => ({ type: 'Thing', data: { n } });

t.test('GET /metrics serves the process and request metrics without a key', async (t) => {
  const metrics = new LedgerMetrics({ service: 'test' });
  const app = createHttpApp({ logger: memoryLogger('silent').logger });
  t.teardown(() => app.close());
  await app.register(metricsPlugin, { metrics });
  app.get('/v1/things/:thingId', async () => ({ ok: true }));

  t.equal((await app.inject({ method: 'GET', url: '/v1/things/secret-thing-1' })).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/v1/things/secret-thing-2' })).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/no/such/route-xyz' })).statusCode, 404);

  const response = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = response.body;
  for (const name of [
    'ledger_process_cpu_user_seconds_total',
    'ledger_process_resident_memory_bytes',
    'ledger_nodejs_eventloop_lag_seconds',
    'ledger_http_request_duration_seconds',
    'ledger_appends_total',
    'ledger_append_duration_seconds',
    'ledger_store_commit_appends',
    'ledger_sse_clients',
  ]) {
    t.match(text, `# TYPE ${name} `, `${name} is exposed`);
  }
  t.equal(
    sample(text, 'ledger_http_request_duration_seconds_count', {
      method: 'GET',
      route: '/v1/things/:thingId',
      status_code: '200',
      service: 'test',
    }),
    2,
    'both requests counted under the route pattern',
  );
  t.equal(
    sample(text, 'ledger_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }),
    1,
    'an unknown URL is counted as unmatched',
  );
  t.notMatch(text, 'secret-thing', 'raw URLs never become label values');
  t.notMatch(text, 'route-xyz');
});

t.test('two apps in one process keep their own registries', async (t) => {
  const one = new LedgerMetrics({ service: 'one', defaultMetrics: false });
  const two = new LedgerMetrics({ service: 'two', defaultMetrics: false });
  one.observeRequest('GET', '/x', 200, 0.01);
  t.equal(sample(await one.scrape(), 'ledger_http_request_duration_seconds_count', { route: '/x' }), 1);
  t.equal(
    sample(await two.scrape(), 'ledger_http_request_duration_seconds_count', { route: '/x' }),
    undefined,
  );
  t.notMatch(await two.scrape(), 'ledger_process_cpu', 'default metrics can be left out');
});

t.test('instrumentStore counts and times appends by result', async (t) => {
  const metrics = new LedgerMetrics({ service: 'test', defaultMetrics: false });
  const inner = new InMemoryEventStore();
  const store = metrics.instrumentStore(inner);
  t.teardown(() => store.close());
  await store.appendToStream('s-1', [event(1)], { expectedRevision: 'no_stream' });
  await store.appendToStream('s-1', [event(2)], { expectedRevision: 0n });
  await t.rejects(store.appendToStream('s-1', [event(3)], { expectedRevision: 0n }), {
    code: WrongExpectedVersionError.code,
  });
  await t.rejects(store.appendToStream('s-2', [], { expectedRevision: 'any' }));
  const text = await metrics.scrape();
  t.equal(sample(text, 'ledger_appends_total', { result: 'ok' }), 2);
  t.equal(sample(text, 'ledger_appends_total', { result: 'conflict' }), 1);
  t.equal(sample(text, 'ledger_append_duration_seconds_count', { result: 'ok' }), 2);

  t.test('reads and subscriptions go through to the store', async (t) => {
    const read = [];
    for await (const recorded of store.readStream('s-1')) read.push(recorded.data);
    t.same(read, [{ n: 1 }, { n: 2 }]);
    let all = 0;
    for await (const _ of store.readAll()) all += 1;
    t.equal(all, 2);
    const subscription = store.subscribeToAll();
    for await (const recorded of subscription) {
      t.same(recorded.data, { n: 1 });
      break;
    }
  });
});

t.test('recordCommit and sseClient feed their metrics', async (t) => {
  const metrics = new LedgerMetrics({ service: 'test', defaultMetrics: false });
  const { recordCommit } = metrics; // bound: passed to the store as is
  recordCommit({ appends: 12, durationMs: 4 });
  recordCommit({ appends: 3, durationMs: 2 });
  metrics.sseClient(1);
  metrics.sseClient(1);
  metrics.sseClient(-1);
  const text = await metrics.scrape();
  t.equal(sample(text, 'ledger_store_commit_appends_count'), 2);
  t.equal(sample(text, 'ledger_store_commit_appends_sum'), 15);
  t.equal(sample(text, 'ledger_store_commit_duration_seconds_sum'), 0.006);
  t.equal(sample(text, 'ledger_sse_clients'), 1);
});

t.test('the projector lag gauges reflect a projector behind the store', async (t) => {
  const metrics = new LedgerMetrics({ service: 'test', defaultMetrics: false });
  const store = new InMemoryEventStore();
  t.teardown(() => store.close());
  let folded = 0;
  const listeners = new Set<(position: number, batch: BatchObservation) => void>();
  const runtime: ProjectorSource = {
    position: () => folded,
    onProgress(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const stop = metrics.watchProjector(runtime, store);
  t.throws(() => metrics.watchProjector(runtime, store), /already watched/);

  let text = await metrics.scrape();
  t.equal(sample(text, 'ledger_projector_lag_events'), 0, 'an empty store: no lag');
  t.equal(sample(text, 'ledger_projector_lag_seconds'), 0);

  const results = [];
  for (let n = 1; n <= 5; n += 1) results.push(await store.appendToStream(`s-${n}`, [event(n)]));
  const second = Number(results[1]!.position.commit);
  const head = Number(results[4]!.position.commit);
  folded = second;
  for (const listener of listeners) listener(second, { events: 2, durationMs: 3 });
  await new Promise((resolve) => setTimeout(resolve, 20));
  text = await metrics.scrape();
  t.equal(sample(text, 'ledger_projector_position'), second);
  t.equal(sample(text, 'ledger_projector_lag_events'), head - second, 'head position − checkpoint');
  t.ok(sample(text, 'ledger_projector_lag_seconds')! >= 0.015, 'the oldest unfolded event is ~20 ms old');
  t.equal(sample(text, 'ledger_projector_batch_events_sum'), 2);
  t.equal(sample(text, 'ledger_projector_batch_duration_seconds_count'), 1);

  folded = head;
  text = await metrics.scrape();
  t.equal(sample(text, 'ledger_projector_lag_events'), 0, 'caught up');
  t.equal(sample(text, 'ledger_projector_lag_seconds'), 0);
  stop();
  t.equal(listeners.size, 0, 'the returned function stops listening');
});

t.test('the relay metrics follow its status', async (t) => {
  const metrics = new LedgerMetrics({ service: 'test', defaultMetrics: false });
  const store = new InMemoryEventStore();
  t.teardown(() => store.close());
  for (let n = 1; n <= 4; n += 1) await store.appendToStream(`s-${n}`, [event(n)]);
  let status = { state: 'starting', position: 0, published: 0, failures: 0 };
  metrics.watchRelay({ status: () => status }, store);
  t.throws(() => metrics.watchRelay({ status: () => status }, store), /already watched/);
  let text = await metrics.scrape();
  t.equal(sample(text, 'ledger_relay_state', { state: 'starting' }), 1);
  t.equal(sample(text, 'ledger_relay_state', { state: 'publishing' }), 0);
  t.equal(sample(text, 'ledger_relay_published_total'), 0);
  const head = sample(text, 'ledger_relay_lag_events')!;
  t.ok(head >= 4, 'lag is the whole store before the first publish');

  status = { state: 'publishing', position: head - 1, published: 3, failures: 0 };
  text = await metrics.scrape();
  t.equal(sample(text, 'ledger_relay_state', { state: 'publishing' }), 1);
  t.equal(sample(text, 'ledger_relay_state', { state: 'starting' }), 0);
  t.equal(sample(text, 'ledger_relay_published_total'), 3);
  t.equal(sample(text, 'ledger_relay_position'), head - 1);
  t.equal(sample(text, 'ledger_relay_lag_events'), 1);

  status = { state: 'backing-off', position: head, published: 4, failures: 2 };
  text = await metrics.scrape();
  t.equal(sample(text, 'ledger_relay_published_total'), 4, 'the counter follows the published total');
  t.equal(sample(text, 'ledger_relay_failures'), 2);
  t.equal(sample(text, 'ledger_relay_lag_events'), 0);
});
