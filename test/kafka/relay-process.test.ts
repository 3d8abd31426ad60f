/**
 * The relay as real processes against real brokers: SIGKILLed mid-batch and restarted, and the all-in-one
 * ledger publishing through a broker that is stopped and restarted while clients keep writing.
 */
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { RelayCheckpoints } from '@ledger/messaging';
import t from 'tap';
import { claimBody, confirmationBody, denialBody } from '../e2e/fixtures/bodies.js';
import { call, startLedgerProcess, startServiceProcess } from '../e2e/fixtures/ledger-process.js';
import {
  consumeUntil,
  dedupe,
  outOfOrderKeys,
  privateBroker,
  seedHistory,
  uniquePrefix,
  withBroker,
} from './fixtures/kafka.js';

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
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
    let end = 0;
    for await (const event of store.readAll({ direction: 'backwards', maxCount: 1 }))
      end = Number(event.position.commit);
    await store.close();

    const prefix = uniquePrefix();
    const env = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_TOPIC_PARTITIONS: '4' };
    // Three kills at different moments after a batch was acknowledged: the next batch is usually in flight.
    let killedAt = 0;
    for (let round = 0; round < 3; round++) {
      const relay = await startServiceProcess('relay', dataDir, env);
      await waitFor(() => relayCheckpoint(dataDir) > killedAt, `round ${round}: a batch acknowledged`);
      await new Promise((resolve) => setTimeout(resolve, round * 15));
      await relay.kill();
      killedAt = relayCheckpoint(dataDir);
    }
    t.ok(killedAt < end, `killed mid-stream: the last kill left the checkpoint at ${killedAt} of ${end}`);

    const second = await startServiceProcess('relay', dataDir, env);
    await waitFor(() => relayCheckpoint(dataDir) === end, 'the restarted relay to reach the end');
    t.equal(await second.stop(), 0, 'the relay stops cleanly on SIGTERM');

    const records = await consumeUntil(brokers, prefix, (_got, distinct) => distinct >= events);
    const { unique, duplicates, conflicting } = dedupe(records);
    t.equal(unique.size, events, 'every event published');
    t.same(conflicting, [], 'a repeat is the same record under the same ce_id');
    t.same(outOfOrderKeys(records), [], 'per-actor order, counting each ce_id once');
    t.comment(`${duplicates} records sent twice (sent before the kill, not yet checkpointed)`);
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
);
