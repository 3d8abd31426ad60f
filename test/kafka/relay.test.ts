/**
 * The Kafka relay in this process against the real test broker: what it publishes, how it resumes, and how two
 * relays on one data dir take turns.
 */
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { KafkaRelay, type KafkaRelaySettings, RelayCheckpoints } from '@ledger/messaging';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import t from 'tap';
import {
  consumeUntil,
  dedupe,
  lastPosition,
  outOfOrderKeys,
  seedHistory,
  uniquePrefix,
  waitFor,
  withBroker,
} from './fixtures/kafka.js';

const silent = pino({ level: 'silent' });

function settings(brokers: string[], topicPrefix: string): KafkaRelaySettings {
  return {
    brokers,
    clientId: 'relay-test',
    topicPrefix,
    topicPartitions: 3,
    topicRetentionMs: 7 * 86_400_000,
  };
}

void withBroker(
  t,
  'publishes every claim event once, to its topic, keyed by actor, as a binary-mode CloudEvent',
  async (t, brokers) => {
    const dir = t.testdir();
    const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
    const events = await seedHistory(store, { claims: 120, actors: 7 });
    // Not a claim event: the relay skips it and its checkpoint still moves past it.
    await store.appendToStream('settings-1', [{ type: 'SettingsChanged', data: { any: true } }]);
    const end = await lastPosition(store);
    const checkpoints = RelayCheckpoints.open(join(dir, 'relay.db'));
    const prefix = uniquePrefix();
    // Small batches and requests, so that one run goes through many batches and splits them into requests.
    const relay = new KafkaRelay({
      store,
      checkpoints,
      kafka: settings(brokers, prefix),
      logger: silent,
      batchSize: 40,
      maxRequestBytes: 2_000,
    });
    relay.start();
    await waitFor(() => relay.position() === end, 'the relay to reach the end of the log');
    const records = await consumeUntil(brokers, prefix, (got) => got.length >= events);

    t.equal(records.length, events, 'one record per claim event, the other event skipped');
    const { unique, duplicates } = dedupe(records);
    t.equal(unique.size, events);
    t.equal(duplicates, 0, 'a relay that never failed sends nothing twice');
    t.same(outOfOrderKeys(records), [], 'each actor’s records in position order, per topic');

    const stored = new Map<string, { type: string; streamId: string; data: unknown; metadata: unknown }>();
    for await (const event of store.readAll()) stored.set(event.id, event);
    const topicOf: Record<string, string> = {
      ClaimMade: 'attribution.claims',
      ClaimDenied: 'attribution.denials',
      ClaimConfirmed: 'attribution.confirmations',
      ClaimRetracted: 'attribution.retractions',
    };
    let mismatches = 0;
    for (const record of records) {
      const original = stored.get(record.event.id);
      const data = original?.data as { claimId: string; actor?: { id: string } };
      const expectedActor = `actor-${Number(data.claimId.split('-').at(-1)) % 7}`;
      const ok =
        original !== undefined &&
        record.topic === `${prefix}${topicOf[original.type]}` &&
        record.event.type === original.type &&
        record.key === expectedActor &&
        record.event.actorId === expectedActor &&
        record.event.subject === data.claimId &&
        record.event.time === (original.metadata as { recordedAt: string }).recordedAt &&
        record.event.source === 'https://attribution-ledger.dev/ledger' &&
        JSON.stringify(record.event.data) === JSON.stringify(original.data);
      if (!ok) mismatches += 1;
    }
    t.equal(mismatches, 0, 'topic, key, ce_* headers and data match the stored event');

    const counts = Object.fromEntries(Object.values(topicOf).map((topic) => [topic, 0]));
    for (const record of records) counts[record.topic.slice(prefix.length)]! += 1;
    // 120 claims: every second denied (60), every third confirmed (40), every seventh retracted (18).
    t.same(counts, {
      'attribution.claims': 120,
      'attribution.denials': 60,
      'attribution.confirmations': 40,
      'attribution.retractions': 18,
    });

    const admin = new Kafka({ clientId: 'test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [`${prefix}attribution.denials`] });
    t.equal(metadata.topics[0]?.partitions.length, 3, 'created with the configured partitions');
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: `${prefix}attribution.denials`, configNames: ['retention.ms'] }],
    });
    t.equal(configs.resources[0]?.configEntries[0]?.configValue, String(7 * 86_400_000), 'and the retention');
    await admin.disconnect();

    t.equal(relay.status().state, 'publishing');
    t.equal(relay.status().published, events);
    await relay.stop();
    t.equal(relay.status().state, 'stopped');
    t.equal(checkpoints.read('kafka')?.position?.commit, BigInt(end), 'checkpoint at the last event');
    checkpoints.close();
    await store.close();
  },
);

void withBroker(
  t,
  'a relay stopped mid-stream resumes after its checkpoint: nothing twice, nothing missed',
  async (t, brokers) => {
    const dir = t.testdir();
    const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
    let events = await seedHistory(store, { claims: 300, actors: 5 });
    const prefix = uniquePrefix();
    const checkpoints = RelayCheckpoints.open(join(dir, 'relay.db'));
    const first = new KafkaRelay({
      store,
      checkpoints,
      kafka: settings(brokers, prefix),
      logger: silent,
      batchSize: 25,
    });
    // Stop as soon as the first batch is acknowledged: the relay finishes at most the batch in flight.
    const stopped = new Promise<void>((resolve) => {
      first.onProgress(() => resolve(first.stop()));
    });
    first.start();
    await stopped;
    const stoppedAt = first.position();
    const end1 = await lastPosition(store);
    t.ok(stoppedAt < end1, `stopped mid-stream (at ${stoppedAt} of ${end1})`);

    // Written while no relay runs: the next one must publish them too.
    events += await seedHistory(store, { claims: 30, actors: 5 });
    const end = await lastPosition(store);
    const second = new KafkaRelay({ store, checkpoints, kafka: settings(brokers, prefix), logger: silent });
    t.equal(second.position(), stoppedAt, 'the new relay starts from the stored checkpoint');
    second.start();
    await waitFor(() => second.position() === end, 'the second relay to reach the end');
    const records = await consumeUntil(brokers, prefix, (got) => got.length >= events);
    const { unique, duplicates } = dedupe(records);
    t.equal(unique.size, events, 'every event published');
    t.equal(duplicates, 0, 'a clean stop waits for the acknowledgement, so nothing is sent twice');
    t.same(outOfOrderKeys(records), []);
    await second.stop();
    checkpoints.close();
    await store.close();
  },
);

void withBroker(
  t,
  'a second relay on the same data dir stands by and takes over when the first stops',
  async (t, brokers) => {
    const dir = t.testdir();
    const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
    let events = await seedHistory(store, { claims: 40, actors: 3 });
    const prefix = uniquePrefix();
    const a = RelayCheckpoints.open(join(dir, 'relay.db'));
    const b = RelayCheckpoints.open(join(dir, 'relay.db'));
    const tuning = { logger: silent, heartbeatMs: 50, leaseMs: 60_000 };
    const active = new KafkaRelay({ store, checkpoints: a, kafka: settings(brokers, prefix), ...tuning });
    const standby = new KafkaRelay({ store, checkpoints: b, kafka: settings(brokers, prefix), ...tuning });
    active.start();
    await waitFor(() => active.status().state === 'publishing', 'the first relay to publish');
    standby.start();
    await waitFor(() => standby.status().state === 'standby', 'the second relay to stand by');
    const end1 = await lastPosition(store);
    await waitFor(() => active.position() === end1, 'the first relay to catch up');
    t.equal(standby.status().published, 0, 'the standby published nothing');

    await active.stop();
    events += await seedHistory(store, { claims: 20, actors: 3 });
    const end = await lastPosition(store);
    // The lease was released on stop, so the standby takes over at its next look, not after the lease time.
    await waitFor(() => standby.position() === end, 'the standby to take over and catch up');
    const records = await consumeUntil(brokers, prefix, (got) => got.length >= events);
    const { unique, duplicates } = dedupe(records);
    t.equal(unique.size, events);
    t.equal(duplicates, 0);
    t.ok(
      standby.status().published > 0 && standby.status().published < events,
      'it published only what was left',
    );
    await standby.stop();
    a.close();
    b.close();
    await store.close();
  },
);

void withBroker(
  t,
  'a compacted topic is refused: it would keep only the last event of each actor',
  async (t, brokers) => {
    const dir = t.testdir();
    const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
    await seedHistory(store, { claims: 3, actors: 1 });
    const prefix = uniquePrefix();
    const admin = new Kafka({ clientId: 'test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: `${prefix}attribution.denials`,
          numPartitions: 1,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
    await admin.disconnect();
    const checkpoints = RelayCheckpoints.open(join(dir, 'relay.db'));
    const relay = new KafkaRelay({
      store,
      checkpoints,
      kafka: settings(brokers, prefix),
      logger: silent,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    relay.start();
    await waitFor(() => relay.status().failures > 0, 'the relay to refuse');
    t.equal(relay.status().state, 'backing-off');
    t.match(relay.status().lastError, /attribution\.denials is compacted/);
    t.equal(relay.position(), 0, 'nothing published into it');
    await relay.stop();
    checkpoints.close();
    await store.close();
  },
);
