/**
 * The relay as real processes against real brokers: SIGKILLed mid-batch and restarted, and the all-in-one
 * ledger publishing through a broker that is stopped and restarted while clients keep writing.
 */
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { LEDGER_TOPICS, RelayCheckpoints } from '@ledger/messaging';
import Database from 'better-sqlite3';
import { Kafka, logLevel } from 'kafkajs';
import t from 'tap';
import { claimBody, confirmationBody, denialBody } from '../e2e/fixtures/bodies.js';
import { call, startLedgerProcess, startServiceProcess } from '../e2e/fixtures/ledger-process.js';
import {
  consumeUntil,
  dedupe,
  lastPosition,
  outOfOrderKeys,
  privateBroker,
  seedHistory,
  uniquePrefix,
  waitFor,
  withBroker,
} from './fixtures/kafka.js';

/** How many records the relay's four topics hold (fresh topics: the sum of their high watermarks). */
async function recordsOnKafka(brokers: string[], prefix: string): Promise<number> {
  const admin = new Kafka({ clientId: 'test-offsets', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let total = 0;
    for (const topic of LEDGER_TOPICS) {
      try {
        for (const partition of await admin.fetchTopicOffsets(`${prefix}${topic}`))
          total += Number(partition.high);
      } catch {
        // Not created yet: nothing on it.
      }
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

/**
 * `recordsOnKafka` once two reads 100 ms apart agree: the broker may still be appending the last request a
 * killed relay sent (partition by partition) when the first read comes.
 */
async function settledRecordsOnKafka(brokers: string[], prefix: string): Promise<number> {
  let last = await recordsOnKafka(brokers, prefix);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await recordsOnKafka(brokers, prefix);
    if (now === last) return now;
    last = now;
  }
}

/** The relay's acknowledged position as stored in `<dataDir>/relay.db` (0 before its first batch). */
function relayCheckpoint(dataDir: string): number {
  const checkpoints = RelayCheckpoints.open(join(dataDir, 'relay.db'));
  try {
    return Number(checkpoints.read('kafka')?.position?.commit ?? 0n);
  } finally {
    checkpoints.close();
  }
}

void withBroker(
  t,
  'a relay SIGKILLed mid-stream loses nothing: the next one resends from the checkpoint',
  async (t, brokers) => {
    const dataDir = t.testdir();
    const store = await SqliteEventStore.open({ path: join(dataDir, 'events.db') });
    // About 20 000 events: dozens of batches, so that the kill lands with most of the log still to send.
    const events = await seedHistory(store, { claims: 10_000, actors: 50 });
    const end = await lastPosition(store);
    await store.close();

    const prefix = uniquePrefix();
    const env = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_TOPIC_PARTITIONS: '4' };
    // Three relays in turn, each SIGKILLed once its checkpoint passed its share of the log (round r: (r + 1) / 4
    // of it), so the last one still leaves a backlog. Before each kill the test takes relay.db's write lock:
    // the relay still sends its next request, but cannot record Kafka's acknowledgement of it, so once Kafka
    // holds more records than the checkpoint covers, the kill lands between a send and its checkpoint, every
    // time. (Freezing the relay with SIGSTOP at a moment after its "sending" line, as this test did before,
    // missed that window of a few milliseconds on every request of five rounds in a CI run.)
    const ROUNDS = 3;
    let killedAt = 0;
    let midBatch = 0;
    // Records on Kafka beyond one per checkpointed event: what the relays killed so far had sent past their
    // checkpoints, which the next relay sends again. Kafka holds that many more before any new request.
    let resent = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const budget = Math.floor((end * (round + 1)) / (ROUNDS + 1));
      const relay = await startServiceProcess('relay', dataDir, env);
      t.teardown(() => relay.kill());
      await waitFor(
        () => relayCheckpoint(dataDir) >= budget,
        `round ${round}: the checkpoint to pass ${budget}`,
      );
      const lock = new Database(join(dataDir, 'relay.db'));
      try {
        lock.exec('BEGIN IMMEDIATE');
        const checkpointed = relayCheckpoint(dataDir);
        await waitFor(
          async () => checkpointed === end || (await recordsOnKafka(brokers, prefix)) > checkpointed + resent,
          `round ${round}: a request acknowledged but not checkpointed`,
        );
        await relay.kill();
        if (checkpointed < end) midBatch += 1;
        resent = (await settledRecordsOnKafka(brokers, prefix)) - checkpointed;
      } finally {
        lock.close(); // rolls the empty transaction back: the lock is free for the next relay
      }
      killedAt = relayCheckpoint(dataDir);
    }
    t.equal(midBatch, ROUNDS, 'every kill landed between a send and its checkpoint');
    t.ok(killedAt < end, `killed mid-stream: the last kill left the checkpoint at ${killedAt} of ${end}`);

    const second = await startServiceProcess('relay', dataDir, env);
    await waitFor(() => relayCheckpoint(dataDir) === end, 'the restarted relay to reach the end');
    t.equal(await second.stop(), 0, 'the relay stops cleanly on SIGTERM');

    t.equal(
      await recordsOnKafka(brokers, prefix),
      events + resent,
      'on Kafka: every event once, and again what the killed relays had not checkpointed',
    );
    // Until every record Kafka holds, so that a repeat at the tail of a partition is read too.
    const records = await consumeUntil(brokers, prefix, (got) => got.length >= events + resent);
    const { unique, duplicates, conflicting } = dedupe(records);
    t.equal(unique.size, events, 'every event published');
    t.same(conflicting, [], 'a repeat is the same record under the same ce_id');
    t.same(outOfOrderKeys(records), [], 'per-actor order, counting each ce_id once');
    t.equal(duplicates, resent, 'the repeats are exactly the records sent again');
  },
);

void withBroker(
  t,
  'the all-in-one ledger keeps taking writes while Kafka is down and publishes them when it is back',
  async (t) => {
    const broker = await privateBroker(t);
    broker.start();
    const dataDir = t.testdir();
    const prefix = uniquePrefix();
    const ledger = await startLedgerProcess(dataDir, {
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '2',
    });
    t.teardown(() => ledger.stop());
    let last = 0;
    let written = 0;
    const statuses: number[] = [];
    const actors = ['Volt Typhoon', 'Zirconium', 'Strontium'];
    const write = async (round: number) => {
      for (let i = 0; i < 12; i++) {
        const actor = actors[i % actors.length]!;
        const made = await call(ledger.url, 'POST', '/v1/claims', {
          body: claimBody({ actor: { name: actor, aliases: [] }, summary: `round ${round}, claim ${i}` }),
        });
        t.equal(made.status, 201);
        const claimId = made.body.claimId as string;
        const denied = await call(ledger.url, 'POST', `/v1/claims/${claimId}/denials`, {
          body: denialBody(),
        });
        const confirmed = await call(ledger.url, 'POST', `/v1/claims/${claimId}/confirmations`, {
          body: confirmationBody(),
        });
        statuses.push(denied.status, confirmed.status);
        last = Math.max(
          last,
          made.body.position as number,
          denied.body.position as number,
          confirmed.body.position as number,
        );
        written += 3;
      }
    };

    await write(1);
    await waitFor(() => relayCheckpoint(dataDir) === last, 'the first round on Kafka');
    broker.stop();
    await write(2);
    t.ok(relayCheckpoint(dataDir) < last, 'written while the broker is down: not yet acknowledged');
    broker.start();
    await write(3);
    await waitFor(() => relayCheckpoint(dataDir) === last, 'every round on Kafka after the broker came back');

    t.same(new Set(statuses), new Set([201]), `all ${statuses.length} writes accepted, Kafka up or down`);
    const records = await consumeUntil(broker.brokers, prefix, (_got, distinct) => distinct >= written);
    const { unique, conflicting } = dedupe(records);
    t.equal(unique.size, written, 'nothing lost across the outage');
    t.same(conflicting, []);
    t.same(outOfOrderKeys(records), [], 'per-actor order across the outage');
    const denials = records.filter((record) => record.topic === `${prefix}attribution.denials`);
    t.ok(
      denials.every((record) => ['volt-typhoon', 'zirconium', 'strontium'].includes(record.key)),
      'denials keyed by the actor id the ledger derived from the claim',
    );
    t.equal(await ledger.stop(), 0, 'the ledger stops cleanly with the relay inside');
  },
  { privateBroker: true },
);

void withBroker(
  t,
  'a broker stopped in the middle of a backlog: the relay backs off (/ready 503), then finishes with nothing lost',
  async (t) => {
    const broker = await privateBroker(t);
    broker.start();
    const dataDir = t.testdir();
    const store = await SqliteEventStore.open({ path: join(dataDir, 'events.db') });
    const events = await seedHistory(store, { claims: 10_000, actors: 40 });
    const end = await lastPosition(store);
    await store.close();
    const prefix = uniquePrefix();
    const relay = await startServiceProcess('relay', dataDir, {
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '3',
      LOG_LEVEL: 'debug',
    });
    t.teardown(() => relay.stop());
    const ready = async () => (await fetch(`${relay.url}/ready`)).status;
    await waitFor(() => relayCheckpoint(dataDir) > 0, 'a first acknowledged batch').catch((error: Error) => {
      throw new Error(`${error.message}; the relay logged:\n${relay.output.slice(-15).join('\n')}`);
    });
    t.equal(await ready(), 200, 'ready while publishing');
    broker.stop();
    const stoppedAt = relayCheckpoint(dataDir);
    t.ok(stoppedAt < end, `broker stopped mid-stream (checkpoint ${stoppedAt} of ${end})`);
    await waitFor(
      () => relay.output.some((line) => line.includes('publishing failed; will resend from the checkpoint')),
      'the relay to notice',
    );
    t.equal(await ready(), 503, 'not ready while the broker is away');
    const during = relayCheckpoint(dataDir);
    broker.start();
    await waitFor(() => relayCheckpoint(dataDir) === end, 'the relay to finish once the broker is back');
    t.ok(during < end, 'nothing more was acknowledged while the broker was down');
    t.equal(await ready(), 200, 'ready again');

    const records = await consumeUntil(broker.brokers, prefix, (_got, distinct) => distinct >= events);
    const { unique, conflicting } = dedupe(records);
    t.equal(unique.size, events, 'every event published across the outage');
    t.same(conflicting, []);
    t.same(outOfOrderKeys(records), [], 'per-actor order across the outage');
    t.equal(await relay.stop(), 0);
  },
  { privateBroker: true },
);
