import { ConfigError, loadConfig, parseDuration } from '@ledger/config';
import t from 'tap';

t.test('with an empty environment every default applies', async (t) => {
  t.same(loadConfig({}), {
    port: 8080,
    host: '127.0.0.1',
    dataDir: './data',
    adminKey: undefined,
    consistencyWaitMs: 5000,
    idempotencyTtlMs: 86_400_000,
    rateLimit: 60_000,
    store: 'sqlite',
    eventStoreDbUrl: undefined,
    kafkaBrokers: [],
    kafka: {
      clientId: 'attribution-ledger',
      topicPrefix: '',
      topicPartitions: 6,
      replicationFactor: undefined,
      topicRetentionMs: 30 * 86_400_000,
    },
    logLevel: 'info',
  });
});

t.test('reads process.env when no environment is given', async (t) => {
  t.type(loadConfig().port, 'number');
});

t.test('with every variable set', async (t) => {
  const config = loadConfig({
    PORT: '9090',
    HOST: '0.0.0.0',
    LEDGER_DATA_DIR: '/var/lib/ledger',
    LEDGER_ADMIN_KEY: 'k'.repeat(32),
    LEDGER_CONSISTENCY_WAIT_MS: '250',
    LEDGER_IDEMPOTENCY_TTL: '90m',
    LEDGER_RATE_LIMIT: '100',
    LEDGER_STORE: 'eventstoredb',
    EVENTSTOREDB_URL: 'esdb://localhost:2113?tls=false',
    KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092,,',
    KAFKA_CLIENT_ID: 'ledger-prod',
    KAFKA_TOPIC_PREFIX: 'prod.',
    KAFKA_TOPIC_PARTITIONS: '12',
    KAFKA_REPLICATION_FACTOR: '3',
    KAFKA_TOPIC_RETENTION: '7d',
    LOG_LEVEL: 'debug',
    UNRELATED: 'ignored',
  });
  t.same(config, {
    port: 9090,
    host: '0.0.0.0',
    dataDir: '/var/lib/ledger',
    adminKey: 'k'.repeat(32),
    consistencyWaitMs: 250,
    idempotencyTtlMs: 5_400_000,
    rateLimit: 100,
    store: 'eventstoredb',
    eventStoreDbUrl: 'esdb://localhost:2113?tls=false',
    kafkaBrokers: ['kafka-1:9092', 'kafka-2:9092'],
    kafka: {
      clientId: 'ledger-prod',
      topicPrefix: 'prod.',
      topicPartitions: 12,
      replicationFactor: 3,
      topicRetentionMs: 7 * 86_400_000,
    },
    logLevel: 'debug',
  });
});

t.test('empty variables count as unset', async (t) => {
  const config = loadConfig({ PORT: '', LEDGER_ADMIN_KEY: '', LOG_LEVEL: '' });
  t.equal(config.port, 8080);
  t.equal(config.adminKey, undefined);
  t.equal(config.logLevel, 'info');
});

t.test('when values are bad', async (t) => {
  t.test('one ConfigError names every bad variable', async (t) => {
    const error = t.throws(() =>
      loadConfig({
        PORT: '80a',
        LEDGER_ADMIN_KEY: 'short',
        LEDGER_CONSISTENCY_WAIT_MS: '-1',
        LEDGER_IDEMPOTENCY_TTL: '1.5h',
        LEDGER_RATE_LIMIT: '0',
        LEDGER_STORE: 'postgres',
        KAFKA_BROKERS: 'kafka-1',
        KAFKA_CLIENT_ID: 'has space',
        KAFKA_TOPIC_PREFIX: 'bad/prefix',
        KAFKA_TOPIC_PARTITIONS: '0',
        KAFKA_REPLICATION_FACTOR: '-1',
        KAFKA_TOPIC_RETENTION: 'a while',
        LOG_LEVEL: 'loud',
      }),
    ) as ConfigError;
    t.ok(error instanceof ConfigError);
    t.equal(error.code, 'invalid-config');
    t.same(error.variables, [
      'PORT',
      'LEDGER_ADMIN_KEY',
      'LEDGER_CONSISTENCY_WAIT_MS',
      'LEDGER_IDEMPOTENCY_TTL',
      'LEDGER_RATE_LIMIT',
      'LEDGER_STORE',
      'KAFKA_BROKERS',
      'KAFKA_CLIENT_ID',
      'KAFKA_TOPIC_PREFIX',
      'KAFKA_TOPIC_PARTITIONS',
      'KAFKA_REPLICATION_FACTOR',
      'KAFKA_TOPIC_RETENTION',
      'LOG_LEVEL',
    ]);
    for (const variable of error.variables) t.match(error.message, variable);
    t.notMatch(error.message, 'short', 'the admin key value is never echoed');
  });

  t.test(
    'brokers: set but empty, a port out of range, an IPv6 literal; underscores in names are fine',
    async (t) => {
      for (const bad of [',', 'kafka:0', 'kafka:65536', '[::1]:9092', 'kafka:9092,nohost']) {
        t.throws(() => loadConfig({ KAFKA_BROKERS: bad }), { message: /KAFKA_BROKERS/ }, bad);
      }
      t.same(loadConfig({ KAFKA_BROKERS: 'kafka_1:9092' }).kafkaBrokers, ['kafka_1:9092']);
    },
  );

  t.test('a port out of range', async (t) => {
    t.throws(() => loadConfig({ PORT: '70000' }), {
      name: 'ConfigError',
      message: /PORT: must be an integer/,
    });
  });

  t.test("retention 'forever' is -1, Kafka's word for no time limit", async (t) => {
    t.equal(loadConfig({ KAFKA_TOPIC_RETENTION: 'forever' }).kafka.topicRetentionMs, -1);
    t.throws(() => loadConfig({ KAFKA_TOPIC_RETENTION: '0d' }), { message: /KAFKA_TOPIC_RETENTION/ });
  });

  t.test('a zero TTL', async (t) => {
    t.throws(() => loadConfig({ LEDGER_IDEMPOTENCY_TTL: '0h' }), { message: /LEDGER_IDEMPOTENCY_TTL/ });
  });

  t.test('eventstoredb without a URL', async (t) => {
    const error = t.throws(() => loadConfig({ LEDGER_STORE: 'eventstoredb' })) as ConfigError;
    t.same(error.variables, ['EVENTSTOREDB_URL']);
  });

  t.test('a URL of another scheme', async (t) => {
    t.throws(() => loadConfig({ EVENTSTOREDB_URL: 'http://localhost:2113' }), {
      message: /EVENTSTOREDB_URL/,
    });
  });
});

t.test('parseDuration', async (t) => {
  t.equal(parseDuration('24h'), 86_400_000);
  t.equal(parseDuration('90m'), 5_400_000);
  t.equal(parseDuration('3600s'), 3_600_000);
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('2d'), 172_800_000);
  t.equal(parseDuration('1500'), 1500);
  t.equal(parseDuration(' 10s '), 10_000);
  for (const bad of ['', 'h', '1.5h', '-1s', '10 s', '10w', '99999999999999999999d']) {
    t.equal(parseDuration(bad), undefined, bad);
  }
});
