/**
 * A Kafka broker for the `http` suite's lag probes, and a consumer that notes when each claim arrives.
 *
 * - `KAFKA_BROKERS` set: that broker is used as it is (nothing started or stopped); topics get a per-run prefix
 *   so that the run neither reads nor disturbs anyone else's records.
 * - Otherwise a fresh single-node broker from `infra/kafka/kafka.sh` (as the tests start theirs, see
 *   `scripts/kafka-test-broker.mjs`), on free ports rather than the test broker's 19092 (another checkout's
 *   tests may be using it), with its data in the suite's temporary dir; stopped at the end.
 * - Neither possible (no Java 17+, no jars and no Maven): `{ skip: reason }`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { kafkaBrokerMissing } from '../../infra/kafka/requirements.mjs';
import { freePort, sleep } from './ledger-process.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'infra', 'kafka', 'kafka.sh');

/** Environments of the brokers this process started and has not stopped yet, for `stopBrokersSync`. */
const running = new Set();

/** For a suite's Ctrl-C handler: stops the brokers it started, synchronously (the JVM runs detached). */
export function stopBrokersSync() {
  for (const env of running) spawnSync('bash', [SCRIPT, 'stop'], { env, stdio: 'ignore' });
  running.clear();
}

function script(command, env) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/**
 * A broker for this run: `{ brokers, origin, topicPrefix, stop() }`, or `{ skip: reason }`. `dataDir` holds a
 * broker the suite starts (removed with the suite's temporary dir).
 */
export async function kafkaForBench(dataDir, progress) {
  const topicPrefix = `bench-${randomBytes(4).toString('hex')}.`;
  if (process.env.KAFKA_BROKERS) {
    return {
      brokers: process.env.KAFKA_BROKERS,
      origin: '`KAFKA_BROKERS`',
      topicPrefix,
      stop: async () => {},
    };
  }
  const reason = kafkaBrokerMissing();
  if (reason !== undefined) return { skip: reason };
  const port = await freePort();
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
    KAFKA_DATA_DIR: join(dataDir, 'kafka'),
  };
  running.add(env);
  const stop = async () => {
    await script(`bash "${SCRIPT}" stop`, env);
    running.delete(env);
  };
  progress(
    `kafka: starting a broker on 127.0.0.1:${port} (infra/kafka/kafka.sh; fetches its jars once with mvn)`,
  );
  const started = await script(`bash "${SCRIPT}" start && bash "${SCRIPT}" wait`, env);
  if (started.code !== 0) {
    await stop();
    return { skip: `the broker did not start: ${started.output.trim().split('\n').slice(-2).join(' / ')}` };
  }
  return { brokers: `127.0.0.1:${port}`, origin: 'a local broker started by the suite', topicPrefix, stop };
}

/**
 * Consumes `<topicPrefix>attribution.claims` (the relay's topic for `ClaimMade`) from the beginning in a
 * consumer group of its own; `seen(claimId)` resolves with when that claim's record arrived (`ce_subject`).
 * Waits for the relay to create the topic and for the group to be joined before resolving.
 */
export async function followKafka({ brokers, topicPrefix }) {
  const kafka = new kafkajs.Kafka({
    clientId: 'ledger-bench',
    brokers: brokers.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const topic = `${topicPrefix}attribution.claims`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let waited = 0; !(await admin.listTopics()).includes(topic); waited += 200) {
      if (waited > 30_000) throw new Error(`the relay did not create ${topic} within 30 s`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({
    groupId: `ledger-bench-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  const arrived = new Map();
  const waiting = new Map();
  const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const now = performance.now();
      const claimId = message.headers?.ce_subject?.toString();
      if (claimId === undefined) return;
      arrived.set(claimId, now);
      waiting.get(claimId)?.(now);
    },
  });
  await joined;
  return {
    seen: (claimId) =>
      arrived.has(claimId)
        ? Promise.resolve(arrived.get(claimId))
        : new Promise((resolve) => waiting.set(claimId, resolve)),
    close: () => consumer.disconnect(),
  };
}
