import type {
  AppendOptions,
  AppendResult,
  EventData,
  EventStore,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  SubscribeToAllOptions,
  Subscription,
} from '@ledger/event-store';
import { lastPosition } from '@ledger/event-store';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric name starts with it, the per-process default metrics included. */
export const METRICS_PREFIX = 'ledger_';

export interface LedgerMetricsOptions {
  /** The `service` label on every metric (`ingest`, `query`, `projector`, `relay`, `ledger`). */
  readonly service: string;
  /** prom-client's per-process metrics (CPU, memory, event-loop lag, GC, handles); default `true`. */
  readonly defaultMetrics?: boolean;
}

/** What one group commit of the store did (`SqliteEventStore`'s `onCommit`). */
export interface CommitObservation {
  readonly appends: number;
  readonly durationMs: number;
}

/** What the projector folded in one transaction, as `ProjectionRuntime.onProgress` reports it. */
export interface BatchObservation {
  readonly events: number;
  readonly durationMs: number;
}

/** The part of `ProjectionRuntime` the metrics read (structural: `@ledger/http` does not depend on it). */
export interface ProjectorSource {
  position(): number;
  onProgress(listener: (position: number, batch: BatchObservation) => void): () => void;
}

/** The part of `KafkaRelay` the metrics read (structural: `@ledger/http` does not depend on messaging). */
export interface RelaySource {
  status(): {
    readonly state: string;
    readonly position: number;
    readonly published: number;
    readonly failures: number;
  };
}

/** The relay's states, each a series of `ledger_relay_state` (1 for the current one, 0 for the others). */
export const RELAY_STATES = ['starting', 'standby', 'publishing', 'backing-off', 'stopped'] as const;

/** Route label of requests that matched no route: raw URLs never become label values. */
export const UNMATCHED_ROUTE = 'unmatched';

// Latency buckets in seconds, from a cached read (1 ms) to a slow fsync under load (2.5 s).
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000];

/**
 * The metrics of one process, on its own prom-client `Registry` (never the global one, so that tests can build
 * many apps in one process). Serve them with `metricsPlugin`; feed them with `instrumentStore` (appends),
 * `recordCommit` (the store's group commits), `watchProjector` and `watchRelay`.
 *
 * @example
 * ```ts
 * const metrics = new LedgerMetrics({ service: 'ledger' });
 * const store = await SqliteEventStore.open({ path, onCommit: metrics.recordCommit });
 * await app.register(metricsPlugin, { metrics });
 * metrics.watchProjector(projector.runtime, store);
 * ```
 */
export class LedgerMetrics {
  readonly registry = new Registry();
  readonly #http: Histogram<'method' | 'route' | 'status_code'>;
  readonly #appends: Counter<'result'>;
  readonly #appendSeconds: Histogram<'result'>;
  readonly #commitAppends: Histogram;
  readonly #commitSeconds: Histogram;
  readonly #sseClients: Gauge;
  #projectorWatched = false;
  #relayWatched = false;

  constructor(options: LedgerMetricsOptions) {
    this.registry.setDefaultLabels({ service: options.service });
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
    const registers = [this.registry];
    this.#http = new Histogram({
      name: `${METRICS_PREFIX}http_request_duration_seconds`,
      help: 'HTTP requests by method, route pattern and status code, and how long they took',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#appends = new Counter({
      name: `${METRICS_PREFIX}appends_total`,
      help: 'Appends to the event store by result (ok, conflict: wrong expected revision, error)',
      labelNames: ['result'],
      registers,
    });
    this.#appendSeconds = new Histogram({
      name: `${METRICS_PREFIX}append_duration_seconds`,
      help: 'How long an append took as its caller saw it (queueing and the group commit with its fsync)',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#commitAppends = new Histogram({
      name: `${METRICS_PREFIX}store_commit_appends`,
      help: 'Appends per group commit of the embedded store',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.#commitSeconds = new Histogram({
      name: `${METRICS_PREFIX}store_commit_duration_seconds`,
      help: 'Duration of a group commit of the embedded store, fsync included',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#sseClients = new Gauge({
      name: `${METRICS_PREFIX}sse_clients`,
      help: 'Open Server-Sent Events subscriptions',
      registers,
    });
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** Counts one HTTP request; `route` is the route pattern (`/v1/claims/:claimId`), undefined when none matched. */
  observeRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    this.#http.observe({ method, route: route ?? UNMATCHED_ROUTE, status_code: String(statusCode) }, seconds);
  }

  /** The store's `onCommit`: appends per group commit and its duration. Bound, so it can be passed as is. */
  readonly recordCommit = (info: CommitObservation): void => {
    this.#commitAppends.observe(info.appends);
    this.#commitSeconds.observe(info.durationMs / 1000);
  };

  /** Counts an SSE subscription opening (+1) or closing (-1). */
  sseClient(delta: 1 | -1): void {
    this.#sseClients.inc(delta);
  }

  /**
   * `store` with every `appendToStream` counted and timed (`ledger_appends_total`, `ledger_append_duration_seconds`
   * by result). Reads and subscriptions go straight through.
   */
  instrumentStore(store: EventStore): EventStore {
    const appends = this.#appends;
    const seconds = this.#appendSeconds;
    return {
      async appendToStream(
        streamName: string,
        events: readonly EventData[],
        options?: AppendOptions,
      ): Promise<AppendResult> {
        const end = seconds.startTimer();
        let result = 'error';
        try {
          const appended = await store.appendToStream(streamName, events, options);
          result = 'ok';
          return appended;
        } catch (error) {
          // Recognised by code, not instanceof: the error class may come from another copy of the package.
          if ((error as { code?: unknown } | null | undefined)?.code === 'wrong-expected-version')
            result = 'conflict';
          throw error;
        } finally {
          end({ result });
          appends.inc({ result });
        }
      },
      readStream: (streamName: string, options?: ReadStreamOptions) => store.readStream(streamName, options),
      readAll: (options?: ReadAllOptions) => store.readAll(options),
      subscribeToAll: (options?: SubscribeToAllOptions): Subscription => store.subscribeToAll(options),
      close: () => store.close(),
    };
  }

  /**
   * Projector metrics: its checkpoint, its lag behind `store` in events (head position − checkpoint) and in
   * seconds (age of the oldest event not yet folded), read at scrape time, and the size and duration of each
   * batch it commits. Returns the function that stops listening to the runtime.
   */
  watchProjector(runtime: ProjectorSource, store: EventStore): () => void {
    if (this.#projectorWatched) throw new Error('a projector is already watched by these metrics');
    this.#projectorWatched = true;
    const registers = [this.registry];
    new Gauge({
      name: `${METRICS_PREFIX}projector_position`,
      help: 'The last store position folded into the read models (the checkpoint)',
      registers,
      collect() {
        this.set(runtime.position());
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}projector_lag_events`,
      help: 'Store head position minus the read models’ checkpoint',
      registers,
      async collect() {
        this.set(Math.max(0, (await headPosition(store)) - runtime.position()));
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}projector_lag_seconds`,
      help: 'Age of the oldest event not yet folded into the read models (0 when caught up)',
      registers,
      async collect() {
        this.set(await ageOfNext(store, runtime.position()));
      },
    });
    const batchEvents = new Histogram({
      name: `${METRICS_PREFIX}projector_batch_events`,
      help: 'Events per read-model transaction of the projector',
      buckets: BATCH_BUCKETS,
      registers,
    });
    const batchSeconds = new Histogram({
      name: `${METRICS_PREFIX}projector_batch_duration_seconds`,
      help: 'Duration of a read-model transaction of the projector',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    return runtime.onProgress((_position, batch) => {
      batchEvents.observe(batch.events);
      batchSeconds.observe(batch.durationMs / 1000);
    });
  }

  /** Relay metrics, read from `relay.status()` at scrape time: published records, position, lag, state, failures. */
  watchRelay(relay: RelaySource, store: EventStore): void {
    if (this.#relayWatched) throw new Error('a relay is already watched by these metrics');
    this.#relayWatched = true;
    const registers = [this.registry];
    let counted = 0;
    new Counter({
      name: `${METRICS_PREFIX}relay_published_total`,
      help: 'Records this process got acknowledged by Kafka',
      registers,
      collect() {
        const { published } = relay.status();
        if (published > counted) this.inc(published - counted);
        counted = published;
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}relay_position`,
      help: 'The last store position Kafka acknowledged',
      registers,
      collect() {
        this.set(relay.status().position);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}relay_lag_events`,
      help: 'Store head position minus the relay’s acknowledged position',
      registers,
      async collect() {
        this.set(Math.max(0, (await headPosition(store)) - relay.status().position));
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}relay_failures`,
      help: 'Consecutive failed publish attempts since the last acknowledged batch',
      registers,
      collect() {
        this.set(relay.status().failures);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}relay_state`,
      help: 'The relay’s state: 1 for the current one',
      labelNames: ['state'],
      registers,
      collect() {
        const current = relay.status().state;
        for (const state of RELAY_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
  }
}

/** The store's last position (0 when empty): one indexed row. */
async function headPosition(store: EventStore): Promise<number> {
  return Number((await lastPosition(store))?.commit ?? 0n);
}

/** Seconds since the first event after `position` was recorded, 0 when there is none. */
async function ageOfNext(store: EventStore, position: number): Promise<number> {
  const from: Position = { commit: BigInt(position + 1), prepare: BigInt(position + 1) };
  for await (const event of store.readAll({ fromPosition: from, maxCount: 1 })) {
    return Math.max(0, (Date.now() - event.created.getTime()) / 1000);
  }
  return 0;
}
