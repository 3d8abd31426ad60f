import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { EventStore, Position, RecordedEvent, Subscription } from '@ledger/event-store';
import { lastPosition, readyBatches } from '@ledger/event-store';
import {
  type Admin,
  type ConfigResourceTypes,
  Kafka,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import { ActorKeys } from './actor-keys.js';
import { isPublishedType, LEDGER_TOPICS, type LedgerKafkaRecord, toKafkaRecord } from './cloud-events.js';
import { kafkaLogCreator } from './kafka-log.js';
import type { RelayCheckpoints } from './relay-checkpoints.js';

/** What the relay creates on the broker and how it reaches it. */
export interface KafkaRelaySettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topicPrefix: string;
  readonly topicPartitions: number;
  /** `undefined`: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number | undefined;
  /** `retention.ms` of the topics it creates; `-1` is forever. */
  readonly topicRetentionMs: number;
}

export interface KafkaRelayOptions {
  readonly store: EventStore;
  readonly checkpoints: RelayCheckpoints;
  readonly kafka: KafkaRelaySettings;
  readonly logger: Logger;
  /** The checkpoint row's name; relays of one data dir that share it take turns through its lease. */
  readonly name?: string;
  /** Events read from the store per batch (default 500). */
  readonly batchSize?: number;
  /** Most bytes of record values per produce request (default 512 KiB); a larger single event goes alone. */
  readonly maxRequestBytes?: number;
  /** A lease not refreshed for this long may be taken over by another relay (default 15 s). */
  readonly leaseMs?: number;
  /** How often the lease is refreshed while idle, and a standby looks for a free lease (default 5 s). */
  readonly heartbeatMs?: number;
  /** First and longest wait between attempts while Kafka fails (defaults 250 ms and 30 s, with jitter). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** `ce_source` (default `DEFAULT_CLOUDEVENT_SOURCE`). */
  readonly source?: string;
  /** kafkajs connection timeout per broker (default 3 s). */
  readonly connectionTimeoutMs?: number;
}

/** Where the relay is, for `/ready` and for operators. */
export type RelayState = 'starting' | 'standby' | 'publishing' | 'backing-off' | 'stopped';

export interface RelayStatus {
  readonly state: RelayState;
  /** The last position Kafka acknowledged (0 before the first). */
  readonly position: number;
  /** Records this process got acknowledged. */
  readonly published: number;
  /** Consecutive failed attempts since the last acknowledged batch. */
  readonly failures: number;
  readonly lastError?: string | undefined;
}

/** This process's pid namespace (`pid:[4026531836]` on Linux), so that pids are compared only within one. */
const PID_NAMESPACE = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid').replace(/\//g, '');
  } catch {
    return 'unknown';
  }
})();

/**
 * Whether a lease holder (`host/pid-namespace/pid/instance`) is a process on this host that no longer exists: a relay
 * restarted after a crash (SIGKILL, OOM) takes over at once instead of waiting out the lease time. Holders on
 * other hosts, or whose process still runs, are never judged gone.
 */
function holderGone(holder: string): boolean {
  const [host, namespace, pid] = holder.split('/');
  // Containers sharing a hostname but not a pid namespace cannot see each other's processes.
  if (host !== hostname() || namespace !== PID_NAMESPACE || pid === undefined || !/^\d+$/.test(pid))
    return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Kafka's own ceiling on a topic's record batch is 1 MB by default; ledger events may be up to 1 MiB of JSON. */
const TOPIC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
// kafkajs's ConfigResourceTypes.TOPIC: the enum is not among the named exports Node sees in its CommonJS build.
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;
/** A 1 MiB body plus its headers and batch overhead. */
const LARGEST_RECORD_BYTES = 1024 * 1024 + 64 * 1024;
const DEFAULT_NAME = 'kafka';

/**
 * Publishes the ledger's claim events to Kafka (DESIGN §8), at least once and in order per actor:
 *
 * - subscribes to the event store from its own checkpoint (in `relay.db`), reads batches, maps each claim event
 *   to a CloudEvents binary-mode record (`toKafkaRecord`) keyed by actor id, and sends them with the idempotent
 *   producer (`acks: all`), one request at a time;
 * - writes the checkpoint only after Kafka acknowledged the batch, so a crash between the two republishes that
 *   batch (consumers see the same `ce_id` twice) and never skips one;
 * - while Kafka fails it drops the producer, waits (exponential backoff with jitter) and resubscribes from the
 *   checkpoint: the unacknowledged batch is sent again, whole, before anything after it, so per-key order holds;
 * - creates the four topics when missing (partitions, replication and retention from its settings);
 * - holds a lease in `relay.db`, so a second relay on the same data dir waits as a standby.
 *
 * Events of other types are skipped (the checkpoint still moves past them).
 *
 * @example
 * ```ts
 * const relay = new KafkaRelay({ store, checkpoints: RelayCheckpoints.open('data/relay.db'), kafka, logger });
 * relay.start();
 * await relay.stop();
 * ```
 */
export class KafkaRelay {
  readonly #store: EventStore;
  readonly #checkpoints: RelayCheckpoints;
  readonly #settings: KafkaRelaySettings;
  readonly #log: Logger;
  readonly #name: string;
  // host/pid-namespace/pid/instance: a relay on the same host can tell that a holder's process is gone.
  readonly #holder = `${hostname()}/${PID_NAMESPACE}/${process.pid}/${randomUUID()}`;
  readonly #batchSize: number;
  readonly #maxRequestBytes: number;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly #source: string | undefined;
  readonly #kafka: Kafka;
  readonly #actors: ActorKeys;
  readonly #listeners = new Set<(position: number) => void>();

  #state: RelayState = 'stopped';
  #position: Position | undefined;
  #published = 0;
  #failures = 0;
  #lastError: string | undefined;
  #topicsReady = false;
  #producer: Producer | undefined;
  #admin: Admin | undefined;
  #subscription: Subscription | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #leaseLost = false;
  /** Set when `stop` gave up waiting: the abandoned run must not touch the checkpoints any more. */
  #detached = false;
  /** The abandoned run of such a stop, until it ends: `start` refuses meanwhile (two runs would interleave). */
  #settling: Promise<void> | undefined;

  constructor(options: KafkaRelayOptions) {
    this.#store = options.store;
    this.#checkpoints = options.checkpoints;
    this.#settings = options.kafka;
    this.#log = options.logger;
    this.#name = options.name ?? DEFAULT_NAME;
    this.#batchSize = Math.max(1, options.batchSize ?? 500);
    this.#maxRequestBytes = Math.max(1, options.maxRequestBytes ?? 512 * 1024);
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#heartbeatMs = options.heartbeatMs ?? 5_000;
    this.#backoff = options.backoff ?? { initialMs: 250, maxMs: 30_000 };
    this.#source = options.source;
    this.#actors = new ActorKeys(options.store);
    this.#kafka = new Kafka({
      clientId: options.kafka.clientId,
      brokers: [...options.kafka.brokers],
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      // A broker that accepts connections but never answers must surface as a failure, not a hang.
      requestTimeout: 15_000,
      // Failures past kafkajs's own short retries come back to the relay's loop, which backs off without limit.
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 3 },
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(options.logger.child({ library: 'kafkajs' })),
    });
    this.#position = this.#checkpoints.read(this.#name)?.position;
  }

  /** The relay's state, last acknowledged position and counters. */
  status(): RelayStatus {
    return {
      state: this.#state,
      position: this.position(),
      published: this.#published,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /** The last position Kafka acknowledged (0 before the first). */
  position(): number {
    return this.#position === undefined ? 0 : Number(this.#position.commit);
  }

  /** Calls `listener(position)` after every acknowledged batch; returns the function that removes it. */
  onProgress(listener: (position: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts publishing in the background. A broker that is down is not an error: the relay waits for it. */
  start(): void {
    if (this.#loop !== undefined) return;
    if (this.#settling !== undefined) {
      throw new Error(
        'KafkaRelay.start: the previous run is still settling after a stop that ran out of grace',
      );
    }
    this.#stopping = false;
    this.#detached = false;
    this.#state = 'starting';
    this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs);
    this.#heartbeat.unref();
    this.#loop = this.#run().catch((error: unknown) => {
      // #run handles its own failures; reaching here is a bug, and must not take the process down with it.
      this.#log.error({ err: error }, 'kafka relay: run ended unexpectedly');
    });
  }

  /**
   * Stops after the request in flight (waiting for its acknowledgement up to `graceMs`, default 10 s; past
   * that the producer is dropped and the batch will be sent again by the next relay), then gives up the lease.
   * Idempotent.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const loop = this.#loop;
    if (loop === undefined) return;
    this.#stopping = true;
    this.#wake?.();
    await this.#subscription?.unsubscribe();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(resolve, graceMs, 'late');
    });
    const outcome = await Promise.race([loop, late]);
    clearTimeout(timer);
    this.#loop = undefined;
    if (outcome !== 'late') return;
    // kafkajs cannot cancel a connect or a request: leave that attempt to finish on its own, detached from the
    // checkpoint file (the caller may close it now), and give the lease up here instead.
    this.#log.warn({ graceMs }, 'kafka relay: request in flight not acknowledged in time; dropping it');
    this.#detached = true;
    this.#settling = loop.finally(() => {
      this.#settling = undefined;
    });
    void this.#dropProducer();
    void this.#admin?.disconnect().catch(() => {});
    this.#finish();
  }

  async #run(): Promise<void> {
    try {
      while (!this.#stopping) {
        try {
          if (!this.#checkpoints.acquire(this.#name, this.#holder, this.#leaseMs, Date.now(), holderGone)) {
            if (this.#state !== 'standby')
              this.#log.info('kafka relay: another relay holds the lease; standing by');
            this.#state = 'standby';
            await this.#sleep(this.#heartbeatMs);
            continue;
          }
          // Heartbeats run from here on, through topic creation and connecting, which may take a while.
          if (this.#state === 'standby' || this.#state === 'stopped') this.#state = 'starting';
          this.#leaseLost = false;
          await this.#assertCheckpointInStore();
          await this.#ensureTopics();
          await this.#publish();
          // Back here without an error: stopped, or the lease was lost (a standby keeps no connection).
          await this.#dropProducer();
        } catch (error) {
          if (this.#stopping) break;
          await this.#dropProducer();
          this.#failures += 1;
          this.#lastError = error instanceof Error ? error.message : String(error);
          this.#state = 'backing-off';
          const waitMs = this.#backoffMs(this.#failures);
          this.#log.warn(
            { err: error, failures: this.#failures, retryInMs: waitMs, position: this.position() },
            'kafka relay: publishing failed; will resend from the checkpoint',
          );
          await this.#sleep(waitMs);
        }
      }
    } finally {
      await this.#dropProducer();
      if (!this.#detached) this.#finish();
    }
  }

  /** Ends a run: no more heartbeats, the lease given up, `stopped`. */
  #finish(): void {
    clearInterval(this.#heartbeat);
    try {
      this.#checkpoints.release(this.#name, this.#holder);
    } catch (error) {
      // The lease then lapses after leaseMs; a stop must not fail over it.
      this.#log.warn({ err: error }, 'kafka relay: could not release the lease');
    }
    this.#state = 'stopped';
    this.#log.info({ position: this.position(), published: this.#published }, 'kafka relay stopped');
  }

  /** Follows the store from the checkpoint until stopped or the lease is lost; throws when Kafka fails. */
  async #publish(): Promise<void> {
    const stored = this.#checkpoints.read(this.#name)?.position;
    this.#position = stored;
    const producer = await this.#connectedProducer();
    if (this.#stopping) return;
    const subscription = this.#store.subscribeToAll({ fromPosition: stored ?? 'start' });
    this.#subscription = subscription;
    this.#state = 'publishing';
    this.#log.info({ from: this.position() }, 'kafka relay publishing');
    try {
      for await (const batch of readyBatches(subscription, this.#batchSize)) {
        if (this.#stopping || this.#leaseLost) return;
        await this.#send(producer, batch);
      }
    } finally {
      this.#subscription = undefined;
      await subscription.unsubscribe();
    }
  }

  /**
   * A checkpoint beyond the store's last event means relay.db belongs to another ledger (or the store was
   * restored from an older copy): following it would skip every new event until positions pass it. Refused,
   * with the way out in the message.
   */
  async #assertCheckpointInStore(): Promise<void> {
    const checkpoint = this.#checkpoints.read(this.#name)?.position;
    if (checkpoint === undefined) return;
    const head = await lastPosition(this.#store);
    if (head === undefined || checkpoint.commit > head.commit) {
      throw new Error(
        `relay checkpoint ${checkpoint.commit} is beyond the store's last position ${head?.commit ?? 0n}: ` +
          'relay.db does not belong to this event store; delete it to publish the store from the start',
      );
    }
  }

  /** Sends one batch in requests of at most `maxRequestBytes`, each acknowledged before the next. */
  async #send(producer: Producer, batch: readonly RecordedEvent[]): Promise<void> {
    let request: { record: LedgerKafkaRecord; event: RecordedEvent }[] = [];
    let bytes = 0;
    const flush = async () => {
      // After losing the lease, sending more would only duplicate what the new holder sends.
      if (request.length === 0 || this.#leaseLost) return;
      const byTopic = new Map<string, Message[]>();
      for (const { record } of request) {
        const messages = byTopic.get(record.topic) ?? [];
        messages.push({ key: record.key, value: record.value, headers: { ...record.headers } });
        byTopic.set(record.topic, messages);
      }
      this.#log.debug(
        { records: request.length, to: Number(request.at(-1)!.event.position.commit) },
        'kafka relay: sending',
      );
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      this.#published += request.length;
      this.#commit(request.at(-1)!.event.position);
      request = [];
      bytes = 0;
    };
    for (const event of batch) {
      const record = await this.#recordOf(event);
      if (record === undefined) continue;
      const size = Buffer.byteLength(record.value);
      if (request.length > 0 && bytes + size > this.#maxRequestBytes) {
        await flush();
        // Stopping between requests: the rest of the batch waits for the next relay, from this checkpoint.
        if (this.#stopping) return;
      }
      request.push({ record, event });
      bytes += size;
    }
    await flush();
    // Skipped events at the end of the batch move the checkpoint too.
    this.#commit(batch.at(-1)!.position);
  }

  async #recordOf(event: RecordedEvent): Promise<LedgerKafkaRecord | undefined> {
    if (!isPublishedType(event.type)) {
      this.#log.debug(
        { position: Number(event.position.commit), type: event.type },
        'kafka relay: not published',
      );
      return undefined;
    }
    const actorId = await this.#actors.of(event);
    if (actorId === undefined) {
      this.#log.warn(
        { position: Number(event.position.commit), eventId: event.id, streamId: event.streamId },
        'kafka relay: no actor for this claim event (its stream has no ClaimMade); not published',
      );
      return undefined;
    }
    return toKafkaRecord(event, actorId, {
      topicPrefix: this.#settings.topicPrefix,
      ...(this.#source === undefined ? {} : { source: this.#source }),
    });
  }

  #commit(position: Position): void {
    if (this.#detached) return;
    if (this.#position !== undefined && position.commit <= this.#position.commit) return;
    if (!this.#checkpoints.save(this.#name, this.#holder, position)) {
      // Another relay took the lease (this one missed heartbeats): it resends from the stored checkpoint.
      this.#leaseLost = true;
      this.#log.warn(
        { position: Number(position.commit) },
        'kafka relay: lease lost to another relay; standing by',
      );
      void this.#subscription?.unsubscribe();
      return;
    }
    this.#position = position;
    this.#failures = 0;
    this.#lastError = undefined;
    this.#state = 'publishing';
    const commit = Number(position.commit);
    for (const listener of this.#listeners) listener(commit);
  }

  #beat(): void {
    if (this.#state === 'standby' || this.#stopping || this.#leaseLost) return;
    try {
      if (this.#checkpoints.acquire(this.#name, this.#holder, this.#leaseMs)) return;
      this.#leaseLost = true;
      this.#log.warn('kafka relay: lease lost to another relay; standing by');
      void this.#subscription?.unsubscribe();
    } catch (error) {
      // relay.db busy or failing: the next beat or save tries again; a timer must never throw.
      this.#log.warn({ err: error }, 'kafka relay: could not refresh the lease');
    }
  }

  async #ensureTopics(): Promise<void> {
    if (this.#topicsReady) return;
    const admin: Admin = this.#kafka.admin();
    this.#admin = admin;
    await admin.connect();
    try {
      const wanted = LEDGER_TOPICS.map((topic) => `${this.#settings.topicPrefix}${topic}`);
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((topic) => !existing.has(topic));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: this.#settings.topicPartitions,
            ...(this.#settings.replicationFactor === undefined
              ? {}
              : { replicationFactor: this.#settings.replicationFactor }),
            configEntries: [
              { name: 'retention.ms', value: String(this.#settings.topicRetentionMs) },
              { name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) },
            ],
          })),
        });
        this.#log.info(
          {
            topics: missing,
            partitions: this.#settings.topicPartitions,
            retentionMs: this.#settings.topicRetentionMs,
          },
          'kafka relay created topics',
        );
      }
      const present = wanted.filter((topic) => existing.has(topic));
      if (present.length > 0) await this.#checkExistingTopics(admin, present);
      this.#topicsReady = true;
    } finally {
      this.#admin = undefined;
      await admin.disconnect();
    }
  }

  /**
   * Topics someone else created are used as they are, except a compacted one: compaction keeps only the last
   * record per key, i.e. per actor, and would silently drop the ledger's history. That is refused (the relay
   * backs off with the reason in `lastError`); a `max.message.bytes` below the ledger's largest event is a
   * warning.
   */
  async #checkExistingTopics(admin: Admin, topics: readonly string[]): Promise<void> {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: TOPIC_RESOURCE,
        name,
        configNames: ['cleanup.policy', 'max.message.bytes'],
      })),
    });
    for (const resource of described.resources) {
      const value = (name: string) =>
        resource.configEntries.find((entry) => entry.configName === name)?.configValue;
      if ((value('cleanup.policy') ?? '').includes('compact')) {
        throw new Error(
          `topic ${resource.resourceName} is compacted (cleanup.policy=${value('cleanup.policy')}): it would keep ` +
            'only the last event of each actor; use a topic with cleanup.policy=delete',
        );
      }
      const maxBytes = Number(value('max.message.bytes'));
      if (Number.isFinite(maxBytes) && maxBytes < LARGEST_RECORD_BYTES) {
        this.#log.warn(
          { topic: resource.resourceName, maxMessageBytes: maxBytes, needed: LARGEST_RECORD_BYTES },
          'kafka relay: topic max.message.bytes is below the largest ledger event; such an event would block the relay',
        );
      }
    }
  }

  async #connectedProducer(): Promise<Producer> {
    if (this.#producer !== undefined) return this.#producer;
    const producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Retriable errors (a leader moving during a broker restart) are retried inside the producer session, which
      // keeps its sequence numbers and so cannot duplicate, for about half a minute; an error that lasts longer
      // comes back to the relay loop, which reports it (`backing-off`, `/ready` 503) and resends. kafkajs warns
      // that bounded retries "may invalidate EoS": delivery here is at-least-once by design (consumers dedupe).
      retry: { retries: 12, initialRetryTime: 100, maxRetryTime: 3_000 },
      // Only the relay creates topics, with the settings it was given; never the broker's defaults.
      allowAutoTopicCreation: false,
      // Java clients' murmur2 partitioning, so that a key lands on the same partition whoever produces it.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.#producer = producer;
    await producer.connect();
    return producer;
  }

  /**
   * Disconnects and forgets the producer. After a failure a fresh producer (and producer id) is safer than one
   * whose sequence numbers may disagree with the broker's.
   */
  async #dropProducer(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    if (producer === undefined) return;
    try {
      await producer.disconnect();
    } catch (error) {
      this.#log.debug({ err: error }, 'kafka relay: producer disconnect failed');
    }
  }

  #backoffMs(failures: number): number {
    const ceiling = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(failures - 1, 20));
    // Jitter (between half and all of the ceiling) keeps relays restarted together from retrying in lockstep.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    }).finally(() => {
      this.#wake = undefined;
    });
  }
}
