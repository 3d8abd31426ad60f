import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { parseDuration } from './duration.js';

/** The pino levels `LOG_LEVEL` takes. */
export const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export type LogLevel = z.infer<typeof LogLevel>;

/** The parsed configuration of every ledger process (DESIGN §7). */
export interface LedgerConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** The bootstrap admin key from `LEDGER_ADMIN_KEY`; absent means "generate one into the data dir". */
  readonly adminKey?: string | undefined;
  readonly consistencyWaitMs: number;
  readonly idempotencyTtlMs: number;
  readonly rateLimit: number;
  readonly store: 'sqlite' | 'eventstoredb';
  readonly eventStoreDbUrl?: string | undefined;
  readonly kafkaBrokers: readonly string[];
  /** The relay's Kafka settings; used only when `kafkaBrokers` is not empty. */
  readonly kafka: KafkaSettings;
  readonly logLevel: LogLevel;
}

/** How the relay connects to Kafka and what it creates there (`KAFKA_*`). */
export interface KafkaSettings {
  readonly clientId: string;
  /** Prepended to the four topic names of DESIGN §8 (e.g. `prod.` gives `prod.attribution.claims`). */
  readonly topicPrefix: string;
  /** Partitions of each topic the relay creates (existing topics are left as they are). */
  readonly topicPartitions: number;
  /** Replication factor of created topics; `undefined` leaves it to the broker's `default.replication.factor`. */
  readonly replicationFactor?: number | undefined;
  /** `retention.ms` of created topics; `-1` keeps messages forever. */
  readonly topicRetentionMs: number;
}

const integer = (min: number, max: number, message: string) =>
  z
    .string()
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((n) => n >= min && n <= max, message);

const ESDB_SCHEMES = /^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb|kdb\+discover):\/\/\S+$/;
// kafkajs splits a broker on ':', so an IPv6 literal cannot be given; a host name that resolves to one can.
const BROKER = /^[A-Za-z0-9._-]+:(\d{1,5})$/;
const isBroker = (broker: string) => {
  const port = Number(BROKER.exec(broker)?.[1] ?? 0);
  return port >= 1 && port <= 65_535;
};

// Each key is the variable's name, so zod's issue paths name the variable.
const Env = z
  .object({
    PORT: integer(0, 65_535, 'must be an integer from 0 to 65535').default(8080),
    HOST: z.string().default('127.0.0.1'),
    LEDGER_DATA_DIR: z.string().default('./data'),
    LEDGER_ADMIN_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    LEDGER_CONSISTENCY_WAIT_MS: integer(0, 600_000, 'must be an integer from 0 to 600000 (ms)').default(5000),
    LEDGER_IDEMPOTENCY_TTL: z
      .string()
      .transform((text, ctx) => {
        const ms = parseDuration(text);
        if (ms === undefined || ms === 0) {
          ctx.addIssue({
            code: 'custom',
            message: 'must be a positive duration such as 24h, 90m, 3600s, 500ms or plain milliseconds',
          });
          return z.NEVER;
        }
        return ms;
      })
      .default(86_400_000),
    LEDGER_RATE_LIMIT: integer(1, Number.MAX_SAFE_INTEGER, 'must be a positive integer').default(60_000),
    LEDGER_STORE: z
      .enum(['sqlite', 'eventstoredb'], { error: "must be 'sqlite' or 'eventstoredb'" })
      .default('sqlite'),
    EVENTSTOREDB_URL: z
      .string()
      .regex(ESDB_SCHEMES, 'must be a connection string such as esdb://localhost:2113?tls=false')
      .optional(),
    KAFKA_BROKERS: z
      .string()
      .transform((text) =>
        text
          .split(',')
          .map((broker) => broker.trim())
          .filter((broker) => broker !== ''),
      )
      .refine(
        // Set but empty (`,`) is a mistake, not "no relay": leave the variable unset for that.
        (brokers) => brokers.length > 0 && brokers.every(isBroker),
        'must be comma-separated host:port pairs (port 1 to 65535; no IPv6 literals, kafkajs cannot parse them)',
      )
      .default([]),
    KAFKA_CLIENT_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1 to 100 letters, digits, dots, underscores or dashes')
      .default('attribution-ledger'),
    KAFKA_TOPIC_PREFIX: z
      .string()
      .regex(
        /^[A-Za-z0-9._-]{0,100}$/,
        'must be letters, digits, dots, underscores or dashes (Kafka topic characters)',
      )
      .default(''),
    KAFKA_TOPIC_PARTITIONS: integer(1, 10_000, 'must be an integer from 1 to 10000').default(6),
    KAFKA_REPLICATION_FACTOR: integer(1, 32, 'must be an integer from 1 to 32').optional(),
    KAFKA_TOPIC_RETENTION: z
      .string()
      .transform((text, ctx) => {
        if (text.trim() === 'forever') return -1;
        const ms = parseDuration(text);
        if (ms === undefined || ms === 0) {
          ctx.addIssue({
            code: 'custom',
            message: "must be a positive duration such as 30d or 12h, or 'forever'",
          });
          return z.NEVER;
        }
        return ms;
      })
      .default(30 * 86_400_000),
    LOG_LEVEL: LogLevel.default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.LEDGER_STORE === 'eventstoredb' && env.EVENTSTOREDB_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['EVENTSTOREDB_URL'],
        message: 'is required when LEDGER_STORE is eventstoredb',
      });
    }
  });

const VARIABLES = Object.keys(Env.shape);

/**
 * Parses the process environment (DESIGN §7) once. Empty variables count as unset, so that `FOO=` in a
 * compose file means "default". Throws a `ConfigError` naming every bad variable.
 *
 * @example
 * ```ts
 * const config = loadConfig({ PORT: '9090', LEDGER_IDEMPOTENCY_TTL: '90m' });
 * config.port; // 9090
 * config.idempotencyTtlMs; // 5_400_000
 * ```
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  const input: Record<string, string> = {};
  for (const name of VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') input[name] = value;
  }
  const parsed = Env.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0]), message: issue.message })),
    );
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.LEDGER_DATA_DIR,
    adminKey: e.LEDGER_ADMIN_KEY,
    consistencyWaitMs: e.LEDGER_CONSISTENCY_WAIT_MS,
    idempotencyTtlMs: e.LEDGER_IDEMPOTENCY_TTL,
    rateLimit: e.LEDGER_RATE_LIMIT,
    store: e.LEDGER_STORE,
    eventStoreDbUrl: e.EVENTSTOREDB_URL,
    kafkaBrokers: e.KAFKA_BROKERS,
    kafka: {
      clientId: e.KAFKA_CLIENT_ID,
      topicPrefix: e.KAFKA_TOPIC_PREFIX,
      topicPartitions: e.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: e.KAFKA_REPLICATION_FACTOR,
      topicRetentionMs: e.KAFKA_TOPIC_RETENTION,
    },
    logLevel: e.LOG_LEVEL,
  };
}
