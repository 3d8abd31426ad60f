export { ActorKeys } from './actor-keys.js';
export {
  CLOUDEVENT_TYPE_PREFIX,
  type CloudEventOptions,
  DEFAULT_CLOUDEVENT_SOURCE,
  fromKafkaRecord,
  isPublishedType,
  LEDGER_TOPICS,
  type LedgerCloudEvent,
  type LedgerKafkaRecord,
  TOPIC_OF_TYPE,
  toKafkaRecord,
} from './cloud-events.js';
export {
  KafkaRelay,
  type KafkaRelayOptions,
  type KafkaRelaySettings,
  type RelayState,
  type RelayStatus,
} from './kafka-relay.js';
export { type RelayCheckpointRow, RelayCheckpoints } from './relay-checkpoints.js';
