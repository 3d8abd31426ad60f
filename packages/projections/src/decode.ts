import {
  ClaimEventType,
  DateTime,
  type RecordedClaimEvent,
  StoredClaimEvent,
  upcastClaimEvent,
} from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';

/** The stream category of claims: `claim-<claimId>`. */
export const CLAIM_STREAM_PREFIX = 'claim-';

const KNOWN_TYPES: ReadonlySet<string> = new Set(ClaimEventType.options);

/** A claim event as the projections take it: the domain's view plus the store's envelope. */
export interface ProjectedEvent {
  /** Upcast and parsed, with its metadata and its position (`bigint`, as the domain folds it). */
  readonly event: RecordedClaimEvent;
  readonly eventId: string;
  readonly streamId: string;
  readonly revision: number;
  /** `Number(position.commit)`: the position of the HTTP API and of the read models. */
  readonly position: number;
}

/** Why a stored event of a claim stream is not projected. */
export type DecodeResult =
  | { readonly ok: true; readonly projected: ProjectedEvent }
  | {
      readonly ok: false;
      readonly reason: 'not-a-claim-stream' | 'unknown-type' | 'invalid';
      readonly detail?: string;
    };

/**
 * Turns a stored event into a projected claim event: only events of `claim-` streams, upcast to the current
 * schema version (never rewritten), their data read with the domain's `StoredClaimEvent` (the fields the folds
 * rely on, not the rules new input must meet, so an event written under older rules is still projected) and
 * their metadata carrying a `recordedAt`. Unknown (newer) event types are not folded, as the domain's folds ignore them too.
 *
 * @example
 * ```ts
 * const result = decodeClaimEvent(recorded);
 * if (result.ok) result.projected.event.type; // 'ClaimDenied'
 * ```
 */
export function decodeClaimEvent(recorded: RecordedEvent): DecodeResult {
  if (!recorded.streamId.startsWith(CLAIM_STREAM_PREFIX)) return { ok: false, reason: 'not-a-claim-stream' };
  const metadata = (
    typeof recorded.metadata === 'object' && recorded.metadata !== null ? recorded.metadata : {}
  ) as {
    readonly [key: string]: unknown;
  };
  const upcast = upcastClaimEvent({ type: recorded.type, data: recorded.data, metadata });
  const parsed = StoredClaimEvent.safeParse({ type: upcast.type, data: upcast.data });
  if (!parsed.success) {
    if (!KNOWN_TYPES.has(upcast.type)) return { ok: false, reason: 'unknown-type' };
    return {
      ok: false,
      reason: 'invalid',
      detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  }
  if (!DateTime.safeParse(upcast.metadata?.recordedAt).success) {
    return { ok: false, reason: 'invalid', detail: 'metadata.recordedAt: missing or not a date-time' };
  }
  const event = {
    ...parsed.data,
    metadata: upcast.metadata as RecordedClaimEvent['metadata'],
    position: recorded.position.commit,
  } as RecordedClaimEvent;
  return {
    ok: true,
    projected: {
      event,
      eventId: recorded.id,
      streamId: recorded.streamId,
      revision: Number(recorded.revision),
      position: Number(recorded.position.commit),
    },
  };
}
