import { join } from 'node:path';
import type { LedgerConfig } from '@ledger/config';
import type { EventStore } from '@ledger/event-store';
import { KafkaRelay, type KafkaRelayOptions, RelayCheckpoints } from '@ledger/messaging';
import type { Logger } from 'pino';

export interface RelayDeps {
  readonly store: EventStore;
  /** Where `relay.db` (the checkpoint and lease) lives: the ledger's data dir. */
  readonly dataDir: string;
  readonly config: Pick<LedgerConfig, 'kafkaBrokers' | 'kafka'>;
  readonly logger: Logger;
  /** Tuning for tests and operators (batch size, backoff, lease times); see `KafkaRelayOptions`. */
  readonly tuning?: Omit<KafkaRelayOptions, 'store' | 'checkpoints' | 'kafka' | 'logger'>;
}

export interface RunningRelay {
  readonly relay: KafkaRelay;
  /** Stops the relay after the request in flight and closes `relay.db`. The store stays open: it is the caller's. */
  close(): Promise<void>;
}

/**
 * Starts publishing the store to Kafka (`config.kafkaBrokers`, topics and retention from `config.kafka`) in
 * the background, from the checkpoint in `<dataDir>/relay.db`. Resolves at once: a broker that is down is
 * waited for, not an error.
 *
 * @example
 * ```ts
 * const relay = startRelay({ store, dataDir: config.dataDir, config, logger: logger.child({ component: 'relay' }) });
 * await relay.close();
 * ```
 */
export function startRelay(deps: RelayDeps): RunningRelay {
  if (deps.config.kafkaBrokers.length === 0) throw new Error('startRelay needs KAFKA_BROKERS');
  const checkpoints = RelayCheckpoints.open(join(deps.dataDir, 'relay.db'));
  const relay = new KafkaRelay({
    ...deps.tuning,
    store: deps.store,
    checkpoints,
    kafka: { brokers: deps.config.kafkaBrokers, ...deps.config.kafka },
    logger: deps.logger,
  });
  relay.start();
  deps.logger.info(
    { brokers: deps.config.kafkaBrokers, from: relay.position(), topicPrefix: deps.config.kafka.topicPrefix },
    'kafka relay started',
  );
  let closing: Promise<void> | undefined;
  return {
    relay,
    close() {
      closing ??= relay.stop().finally(() => checkpoints.close());
      return closing;
    },
  };
}
