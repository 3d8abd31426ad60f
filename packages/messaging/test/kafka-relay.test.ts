/**
 * The relay with no broker to talk to (a closed port): what it does while Kafka is away. Publishing to a real
 * broker is tested in test/kafka.
 */

import { readlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InMemoryEventStore } from '@ledger/event-store';
import { KafkaRelay, RelayCheckpoints } from '@ledger/messaging';
import { pino } from 'pino';
import t, { type Test } from 'tap';

/** This process's pid namespace, as the relay writes it into its lease holder. */
const namespace = readlinkSync('/proc/self/ns/pid').replace(/\//g, '');

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A pino logger that keeps its lines. */
function recordingLogger() {
  const lines: { level: number; msg: string; failures?: number; retryInMs?: number; library?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function setup(t: Test, options: { heartbeatMs?: number; leaseMs?: number } = {}) {
  const store = new InMemoryEventStore();
  await store.appendToStream('claim-1', [
    { type: 'ClaimMade', data: { claimId: '1', actor: { id: 'zirconium', name: 'Zirconium', aliases: [] } } },
  ]);
  const checkpoints = RelayCheckpoints.open(join(t.testdir(), 'relay.db'));
  const { logger, lines } = recordingLogger();
  const relay = new KafkaRelay({
    store,
    checkpoints,
    kafka: {
      brokers: [`127.0.0.1:${await closedPort()}`],
      clientId: 'offline-test',
      topicPrefix: '',
      topicPartitions: 1,
      topicRetentionMs: 60_000,
    },
    logger,
    backoff: { initialMs: 5, maxMs: 40 },
    connectionTimeoutMs: 200,
    heartbeatMs: options.heartbeatMs ?? 5_000,
    leaseMs: options.leaseMs ?? 15_000,
  });
  t.teardown(async () => {
    await relay.stop();
    checkpoints.close();
    await store.close();
  });
  return { relay, checkpoints, lines };
}

t.test(
  'while the broker is unreachable it backs off, publishes nothing and keeps its checkpoint',
  async (t) => {
    const { relay, checkpoints, lines } = await setup(t);
    t.same(relay.status(), {
      state: 'stopped',
      position: 0,
      published: 0,
      failures: 0,
      lastError: undefined,
    });
    relay.start();
    relay.start();
    await waitFor(() => relay.status().failures >= 3, 'three failed attempts');
    const status = relay.status();
    t.equal(status.state, 'backing-off');
    t.equal(status.position, 0);
    t.equal(status.published, 0);
    t.match(status.lastError, /connect|ECONNREFUSED|broker/i, 'says why');
    t.equal(checkpoints.read('kafka')?.position, undefined, 'no checkpoint without an acknowledgement');
    const failures = lines.filter(
      (line) => line.msg === 'kafka relay: publishing failed; will resend from the checkpoint',
    );
    t.ok(failures.length >= 3, 'each failed attempt is logged');
    t.ok(
      failures.every((line) => line.level === 40 && (line.retryInMs ?? 0) <= 40),
      'as a warning, with its wait',
    );
    t.ok(
      lines.some((line) => line.library === 'kafkajs'),
      'kafkajs’s own lines go to the same logger',
    );
    await relay.stop();
    await relay.stop();
    t.equal(relay.status().state, 'stopped');
    t.equal(checkpoints.read('kafka')?.holder, undefined, 'the lease is given up on stop');
  },
);

t.test('a relay whose lease another relay holds stands by, and publishes nothing', async (t) => {
  const { relay, checkpoints } = await setup(t, { heartbeatMs: 10 });
  t.ok(checkpoints.acquire('kafka', 'someone-else', 60_000));
  relay.start();
  await waitFor(() => relay.status().state === 'standby', 'standby');
  t.equal(relay.status().failures, 0, 'it did not even try the broker');
  checkpoints.release('kafka', 'someone-else');
  await waitFor(() => relay.status().failures > 0, 'the lease free: it tries to publish');
  t.not(checkpoints.read('kafka')?.holder, 'someone-else');
});

t.test('a relay that loses its lease while Kafka is away goes back to standing by', async (t) => {
  const { relay, checkpoints } = await setup(t, { heartbeatMs: 10, leaseMs: 60_000 });
  relay.start();
  await waitFor(() => relay.status().failures > 0, 'a first failed attempt');
  // Another relay that saw this one's heartbeat as stale (a paused process, say) takes the lease over.
  t.ok(checkpoints.acquire('kafka', 'usurper', 60_000, Date.now() + 120_000));
  await waitFor(() => relay.status().state === 'standby', 'standby after losing the lease');
  t.equal(checkpoints.read('kafka')?.holder, 'usurper');
});

t.test('stop does not wait past its grace period for a request that never ends', async (t) => {
  const { relay } = await setup(t);
  relay.start();
  await waitFor(() => relay.status().failures > 0, 'a first failed attempt');
  // A grace of 0 takes the path that drops the producer and admin client without waiting.
  await relay.stop(0);
  t.equal(relay.status().state, 'stopped');
});

t.test(
  'a lease left by a crashed relay on this host is taken over at once, not after the lease time',
  async (t) => {
    const { relay, checkpoints } = await setup(t, { heartbeatMs: 10, leaseMs: 600_000 });
    // A pid above any pid_max (at most 2^22 on Linux): no such process.
    t.ok(checkpoints.acquire('kafka', `${hostname()}/${namespace}/2147483647/crashed`, 600_000));
    relay.start();
    await waitFor(() => relay.status().failures > 0, 'the relay to take over and try the broker');
    t.equal(checkpoints.read('kafka')?.holder?.split('/')[2], String(process.pid));
  },
);

t.test('a lease held by a live process, or by another host, is waited for', async (t) => {
  for (const holder of [
    `${hostname()}/${namespace}/${process.pid}/alive`,
    // Same host name, another pid namespace (a container): its pids mean nothing here.
    `${hostname()}/pid:[1]/2147483647/other-container`,
    `other-host/${namespace}/2147483647/remote`,
    'not-a-relay-holder',
  ]) {
    const { relay, checkpoints } = await setup(t, { heartbeatMs: 10, leaseMs: 600_000 });
    t.ok(checkpoints.acquire('kafka', holder, 600_000));
    relay.start();
    await waitFor(() => relay.status().state === 'standby', `standby behind ${holder}`);
    t.equal(checkpoints.read('kafka')?.holder, holder);
    await relay.stop();
  }
});

t.test('a failing relay.db is reported and retried, never thrown at the process', async (t) => {
  const { relay, checkpoints } = await setup(t, { heartbeatMs: 10 });
  relay.start();
  await waitFor(() => relay.status().failures > 0, 'a first failed attempt');
  // The file goes away under the running relay: heartbeats and lease checks now fail.
  checkpoints.close();
  await waitFor(() => /not open/.test(relay.status().lastError ?? ''), 'the failure to be reported');
  t.equal(relay.status().state, 'backing-off');
  await relay.stop();
  t.equal(relay.status().state, 'stopped', 'and it still stops');
});

t.test('a checkpoint beyond the store’s last event is refused with the way out', async (t) => {
  const { relay, checkpoints } = await setup(t);
  t.ok(checkpoints.acquire('kafka', 'previous', 1));
  t.ok(checkpoints.save('kafka', 'previous', { commit: 999n, prepare: 999n }));
  checkpoints.release('kafka', 'previous');
  relay.start();
  await waitFor(() => relay.status().failures > 0, 'a refused attempt');
  t.match(relay.status().lastError, /beyond the store's last position 1: .*delete it/);
  t.equal(checkpoints.read('kafka')?.position?.commit, 999n, 'the checkpoint is left for the operator');
});

t.test('start refuses while a run abandoned by stop() is still settling', async (t) => {
  // A broker that accepts connections and never answers: kafkajs's connect hangs until it times out.
  const sockets = new Set<Socket>();
  const blackhole = createServer((socket) => {
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  const { port } = blackhole.address() as { port: number };
  const store = new InMemoryEventStore();
  const checkpoints = RelayCheckpoints.open(join(t.testdir(), 'relay.db'));
  const relay = new KafkaRelay({
    store,
    checkpoints,
    kafka: {
      brokers: [`127.0.0.1:${port}`],
      clientId: 'blackhole',
      topicPrefix: '',
      topicPartitions: 1,
      topicRetentionMs: 1,
    },
    logger: pino({ level: 'silent' }),
  });
  relay.start();
  await waitFor(() => sockets.size > 0, 'the relay to connect');
  await relay.stop(20);
  t.equal(relay.status().state, 'stopped', 'stopped without waiting for the hung connect');
  t.equal(checkpoints.read('kafka')?.holder, undefined, 'and the lease is given up');
  t.throws(() => relay.start(), /still settling/);
  // Hang up: the abandoned connect fails, the run ends, and a new start is allowed.
  for (const socket of sockets) socket.destroy();
  blackhole.close();
  await waitFor(() => {
    try {
      relay.start();
      return true;
    } catch {
      return false;
    }
  }, 'the abandoned run to settle');
  await relay.stop(0);
  checkpoints.close();
  await store.close();
});
