/**
 * The mapping of ledger events to Kafka records: one topic per claim event type (DESIGN §8), key = actor id,
 * and the CloudEvents 1.0 Kafka protocol binding in binary mode: the CloudEvent attributes travel as `ce_*`
 * headers, `datacontenttype` as the `content-type` header, and the record value is the event's data as JSON.
 */
import type { ClaimEventType } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';

/** The topic of each claim event type, before any deployment prefix. */
export const TOPIC_OF_TYPE: Readonly<Record<ClaimEventType, string>> = {
  ClaimMade: 'attribution.claims',
  ClaimDenied: 'attribution.denials',
  ClaimConfirmed: 'attribution.confirmations',
  ClaimRetracted: 'attribution.retractions',
};

/** The four topics of DESIGN §8, before any deployment prefix. */
export const LEDGER_TOPICS: readonly string[] = Object.values(TOPIC_OF_TYPE);

/** `ce_source` of every event this ledger publishes, unless a deployment names its own. */
export const DEFAULT_CLOUDEVENT_SOURCE = 'https://attribution-ledger.dev/ledger';

/** `ce_type` is reverse-DNS namespaced, as CloudEvents recommends: `dev.attribution-ledger.ClaimDenied`. */
export const CLOUDEVENT_TYPE_PREFIX = 'dev.attribution-ledger.';

/** A Kafka record ready for the producer: every header value is a UTF-8 string. */
export interface LedgerKafkaRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface CloudEventOptions {
  /** Prepended to the topic names (`KAFKA_TOPIC_PREFIX`). */
  readonly topicPrefix?: string;
  /** `ce_source`; defaults to `DEFAULT_CLOUDEVENT_SOURCE`. */
  readonly source?: string;
}

/** Whether the relay publishes events of this type (the four claim events; anything else is skipped). */
export function isPublishedType(type: string): type is ClaimEventType {
  return Object.hasOwn(TOPIC_OF_TYPE, type);
}

/**
 * Maps one stored claim event to its Kafka record. `actorId` is the actor of the event's claim (the key, so
 * that all of an actor's events of one type share a partition and keep their order).
 *
 * Headers: `ce_specversion` `1.0`, `ce_id` (event id: consumers dedupe on it), `ce_type`, `ce_source`,
 * `ce_subject` (claim id), `ce_time` (`recordedAt`), `content-type` `application/json`, and two extension
 * attributes, `ce_ledgerposition` (the event's position, as in the HTTP API and SSE `id:`) and `ce_actorid`.
 *
 * @example
 * ```ts
 * const record = toKafkaRecord(event, 'zirconium', { topicPrefix: '' });
 * record.topic; // 'attribution.denials'
 * record.headers.ce_id === event.id; // true
 * ```
 */
export function toKafkaRecord(
  event: RecordedEvent,
  actorId: string,
  options: CloudEventOptions = {},
): LedgerKafkaRecord {
  if (!isPublishedType(event.type)) throw new TypeError(`not a published event type: ${event.type}`);
  const data = event.data as { readonly claimId?: unknown };
  const metadata = event.metadata as { readonly recordedAt?: unknown } | undefined;
  const headers: Record<string, string> = {
    ce_specversion: '1.0',
    ce_id: event.id,
    ce_type: `${CLOUDEVENT_TYPE_PREFIX}${event.type}`,
    ce_source: options.source ?? DEFAULT_CLOUDEVENT_SOURCE,
    ce_time: typeof metadata?.recordedAt === 'string' ? metadata.recordedAt : event.created.toISOString(),
    'content-type': 'application/json',
    ce_ledgerposition: event.position.commit.toString(),
    ce_actorid: actorId,
  };
  if (typeof data.claimId === 'string') headers.ce_subject = data.claimId;
  return {
    topic: `${options.topicPrefix ?? ''}${TOPIC_OF_TYPE[event.type]}`,
    key: actorId,
    value: JSON.stringify(event.data),
    headers,
  };
}

/** A CloudEvent as a consumer reads it back from a Kafka record (binary mode). */
export interface LedgerCloudEvent {
  readonly id: string;
  /** The ledger event type, without the `dev.attribution-ledger.` prefix: `ClaimDenied`. */
  readonly type: string;
  readonly source: string;
  readonly subject: string | undefined;
  readonly time: string;
  readonly position: number;
  readonly actorId: string;
  readonly data: unknown;
}

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

function header(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
  name: string,
): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/**
 * Reads a record the relay published back into a CloudEvent; `undefined` when it is not one (no `ce_id`,
 * another `ce_specversion`, or a value that is not JSON). For consumers and tests; kafkajs hands headers
 * as Buffers.
 *
 * @example
 * ```ts
 * await consumer.run({ eachMessage: async ({ message }) => {
 *   const event = fromKafkaRecord(message);
 *   if (event !== undefined && !seen.has(event.id)) handle(event);
 * } });
 * ```
 */
export function fromKafkaRecord(record: {
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, HeaderValue>> | undefined;
}): LedgerCloudEvent | undefined {
  const id = header(record.headers, 'ce_id');
  const type = header(record.headers, 'ce_type');
  if (id === undefined || type === undefined || header(record.headers, 'ce_specversion') !== '1.0')
    return undefined;
  if (record.value === null) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(record.value.toString());
  } catch {
    return undefined;
  }
  return {
    id,
    type: type.startsWith(CLOUDEVENT_TYPE_PREFIX) ? type.slice(CLOUDEVENT_TYPE_PREFIX.length) : type,
    source: header(record.headers, 'ce_source') ?? '',
    subject: header(record.headers, 'ce_subject'),
    time: header(record.headers, 'ce_time') ?? '',
    position: Number(header(record.headers, 'ce_ledgerposition') ?? Number.NaN),
    actorId: header(record.headers, 'ce_actorid') ?? '',
    data,
  };
}
