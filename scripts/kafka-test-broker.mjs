/**
 * The Kafka broker of the test suite. tap runs `start` before the test files (`.taprc` `before`) and `stop`
 * after them, so `npm test` needs nothing running beforehand:
 *
 * - with Java 17+ and either Maven or the jars already cached in infra/kafka/lib, it starts a fresh single-node
 *   broker (infra/kafka/kafka.sh) on 127.0.0.1:$LEDGER_TEST_KAFKA_PORT (default 19092; controller on the next
 *   port) with its data in .tap/kafka, and writes `{ brokers }` to .tap/kafka-broker.json for the tests;
 * - otherwise it writes `{ skip: reason }`, and the Kafka suites skip with that reason printed, unless
 *   LEDGER_REQUIRE_KAFKA=1 (CI), under which a missing broker fails the run here and in every Kafka suite.
 * - LEDGER_TEST_KAFKA_BROKERS=host:port[,…] uses a broker you run yourself instead (nothing is started or stopped).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kafkaBrokerMissing } from '../infra/kafka/requirements.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'infra/kafka/kafka.sh');
const statusFile = join(root, '.tap/kafka-broker.json');
const dataDir = join(root, '.tap/kafka');
const port = Number(process.env.LEDGER_TEST_KAFKA_PORT ?? 19092);
const required = process.env.LEDGER_REQUIRE_KAFKA === '1';

const brokerEnv = () => ({
  ...process.env,
  KAFKA_PORT: String(port),
  KAFKA_CONTROLLER_PORT: String(port + 1),
  KAFKA_DATA_DIR: dataDir,
});

function write(status) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, `${JSON.stringify(status)}\n`);
}

function skip(reason) {
  write({ skip: reason });
  if (required) {
    process.stderr.write(`kafka: LEDGER_REQUIRE_KAFKA=1 and no broker: ${reason}\n`);
    process.exit(1);
  }
  process.stdout.write(`# kafka: the Kafka suites will be skipped: ${reason}\n`);
}

export function start() {
  if (process.env.LEDGER_TEST_KAFKA_BROKERS) {
    write({ brokers: process.env.LEDGER_TEST_KAFKA_BROKERS.split(',').map((b) => b.trim()), external: true });
    return;
  }
  const reason = kafkaBrokerMissing();
  if (reason !== undefined) return skip(reason);
  // A broker left by an interrupted run: stop it; every run starts from empty topics.
  spawnSync('bash', [script, 'stop'], { env: brokerEnv(), stdio: 'ignore' });
  rmSync(dataDir, { recursive: true, force: true });
  const started = spawnSync('bash', ['-c', `bash "${script}" start && bash "${script}" wait`], {
    env: brokerEnv(),
    encoding: 'utf8',
  });
  if (started.status !== 0) {
    // Started but never ready: do not leave the JVM behind.
    spawnSync('bash', [script, 'stop'], { env: brokerEnv(), stdio: 'ignore' });
    return skip(
      `the test broker did not start: ${(started.stderr || started.stdout).trim().split('\n').slice(-3).join(' / ')}`,
    );
  }
  write({ brokers: [`127.0.0.1:${port}`], dataDir });
  process.stdout.write(`# kafka: test broker ready on 127.0.0.1:${port}\n`);
}

export function stop() {
  let status;
  try {
    status = JSON.parse(readFileSync(statusFile, 'utf8'));
  } catch {
    return;
  }
  if (status.dataDir !== undefined) {
    spawnSync('bash', [script, 'stop'], { env: brokerEnv(), stdio: 'ignore' });
    rmSync(status.dataDir, { recursive: true, force: true });
  }
  rmSync(statusFile, { force: true });
}

const command = process.argv[2];
if (command === 'start') start();
else if (command === 'stop') stop();
