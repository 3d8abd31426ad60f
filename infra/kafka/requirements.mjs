/**
 * What a local Kafka broker from infra/kafka/kafka.sh needs on this machine, for the test broker
 * (scripts/kafka-test-broker.mjs) and the `http` benchmark (bench/lib/kafka-broker.js) alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = join(dirname(fileURLToPath(import.meta.url)), 'lib');

/**
 * Why no broker can start here (Java 17+ missing, or neither Maven nor the cached jars), or `undefined` when
 * one can.
 */
export function kafkaBrokerMissing() {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error !== undefined || java.status !== 0)
    return 'java was not found (the Kafka 4 broker needs Java 17+)';
  const version = /version "(\d+)/.exec(java.stderr ?? '')?.[1];
  if (version !== undefined && Number(version) < 17)
    return `Java ${version} found; the Kafka 4 broker needs 17+`;
  const cached = existsSync(join(lib, '.pom.sha256'));
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (!cached && (mvn.error !== undefined || mvn.status !== 0)) {
    return 'mvn was not found and the Kafka jars are not cached in infra/kafka/lib (run `npm run kafka:start` once)';
  }
  return undefined;
}
