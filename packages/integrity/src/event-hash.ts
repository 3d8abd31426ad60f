/**
 * The hash chain: what of an event is hashed, and how each event's hash takes in the one before it.
 * Everything here is pure, so the SQLite writer (which seals events as it commits them), `verifyLedger` and
 * third-party verifiers compute the same bytes.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The `prev` of the first event of the log: 32 zero bytes, hex. */
export const GENESIS_HASH = '0'.repeat(64);

/** The reserved metadata key under which the store keeps an event's chain link. */
export const INTEGRITY_KEY = 'integrity';

/** `metadata.integrity` of a stored event: its own hash and the hash of the event before it, lower-case hex. */
export interface IntegrityFields {
  readonly hash: string;
  readonly prev: string;
}

/** The parts of a stored event that its hash covers. */
export interface HashedEvent {
  /** The hash of the previous event in `$all` order, `GENESIS_HASH` for the first. */
  readonly prev: string;
  readonly position: bigint;
  readonly streamId: string;
  readonly revision: bigint;
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  /** The event's metadata without the `integrity` key (`{}` when the event was written without metadata). */
  readonly metadata: { readonly [key: string]: unknown };
  /** When the store committed the event, ISO 8601 UTC with milliseconds (`Date.prototype.toISOString`). */
  readonly created: string;
}

/**
 * RFC 8785 (JCS) canonical JSON: keys sorted by UTF-16 code units, no whitespace, ECMAScript number form.
 * Throws on what has no canonical form (lone surrogates, non-finite numbers, `undefined` at the top).
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/** SHA-256 of a string's UTF-8 bytes, lower-case hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The object whose canonical JSON is hashed. Position and revision are decimal strings, so that no JSON number
 * precision limit applies to them.
 */
export function hashInput(event: HashedEvent): Record<string, unknown> {
  return {
    prev: event.prev,
    position: event.position.toString(),
    streamId: event.streamId,
    revision: event.revision.toString(),
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    created: event.created,
  };
}

/**
 * An event's hash: SHA-256 over the RFC 8785 canonical JSON of `hashInput(event)`, lower-case hex. Because
 * `prev` is inside, each hash commits to the whole log before it; because `position` and `revision` are inside,
 * a deleted, moved or swapped event no longer matches its hash or its successor's `prev`.
 *
 * @example
 * const hash = eventHash({ prev: GENESIS_HASH, position: 1n, streamId: 'claim-1', revision: 0n, id,
 *   type: 'ClaimMade', data, metadata: { recordedAt }, created: '2020-09-10T13:00:00.000Z' });
 */
export function eventHash(event: HashedEvent): string {
  return sha256Hex(canonicalJson(hashInput(event)));
}

/** The RFC 8785 canonical JSON of an event's data and of its metadata (without `integrity`). */
export interface CanonicalContent {
  readonly data: string;
  readonly metadata: string;
}

/**
 * The canonical forms of an event's data and metadata, from their stored JSON text (`null` metadata: `{}`), as
 * `eventHash` would canonicalise them. A writer computes them before it takes the write lock, so that only
 * the small envelope is canonicalised inside (`eventHashOfContent`). Throws what `canonicalJson` throws.
 */
export function canonicalContent(dataJson: string, metadataJson: string | null): CanonicalContent {
  return canonicalContentOf(JSON.parse(dataJson), metadataJson === null ? {} : JSON.parse(metadataJson));
}

/** `canonicalContent` of data and metadata already parsed from their stored JSON text. */
export function canonicalContentOf(
  data: unknown,
  metadata: { readonly [key: string]: unknown },
): CanonicalContent {
  return { data: canonicalJson(data), metadata: canonicalJson(metadata) };
}

/**
 * `eventHash` of an event whose data and metadata are already canonical: the same hash, because RFC 8785
 * writes an object's members in sorted key order with each value in its own canonical form, so the envelope
 * can be written around the two canonical texts. The members below are in that order.
 */
export function eventHashOfContent(
  event: Omit<HashedEvent, 'data' | 'metadata'>,
  content: CanonicalContent,
): string {
  const text =
    `{"created":${canonicalJson(event.created)},"data":${content.data},"id":${canonicalJson(event.id)},` +
    `"metadata":${content.metadata},"position":"${event.position}","prev":${canonicalJson(event.prev)},` +
    `"revision":"${event.revision}","streamId":${canonicalJson(event.streamId)},"type":${canonicalJson(event.type)}}`;
  return sha256Hex(text);
}

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * Splits stored metadata into its integrity fields and the rest. `integrity` is undefined when the metadata is
 * not an object or has no well-formed `integrity` member.
 */
export function splitIntegrity(metadata: unknown): {
  integrity: IntegrityFields | undefined;
  rest: { [key: string]: unknown } | undefined;
} {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    return { integrity: undefined, rest: undefined };
  }
  const { [INTEGRITY_KEY]: fields, ...rest } = metadata as { [key: string]: unknown };
  const candidate = fields as Partial<IntegrityFields> | undefined;
  const wellFormed =
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.hash === 'string' &&
    typeof candidate.prev === 'string' &&
    HEX_HASH.test(candidate.hash) &&
    HEX_HASH.test(candidate.prev);
  return {
    integrity: wellFormed ? { hash: candidate.hash!, prev: candidate.prev! } : undefined,
    rest,
  };
}
