/**
 * The four events of a claim's stream (`claim-<claimId>`), their metadata, and upcasting of stored versions.
 *
 * Event data is strict: the domain writes exactly these fields. Events are immutable; when a shape changes,
 * `CURRENT_SCHEMA_VERSION` goes up and `upcastClaimEvent` learns to lift the older shape on read.
 */
import { z } from 'zod';
import {
  ActorId,
  ActorName,
  Attribution,
  ClaimId,
  DateTime,
  LongText,
  OfficialParty,
  Party,
  PartyId,
  PartyKind,
  ShortText,
  Source,
  Spokesperson,
} from './values.js';

/** The version of the event shapes this package writes. */
export const CURRENT_SCHEMA_VERSION = 1;

/** A threat actor as recorded in a claim; `id` is `actorIdOf(name)` at the time of the claim. */
export const Actor = z.strictObject({ id: ActorId, name: ActorName, aliases: z.array(ShortText) });
export type Actor = z.infer<typeof Actor>;

/** Data of `ClaimMade`: one party's public attribution of one actor to one state. */
export const ClaimMade = z.strictObject({
  claimId: ClaimId,
  claimant: Party,
  spokesperson: Spokesperson.optional(),
  actor: Actor,
  attribution: Attribution,
  targets: z.array(ShortText).default([]),
  summary: LongText,
  campaign: ShortText.optional(),
  confidence: z.int().min(0).max(100).optional(),
  source: Source,
  statedAt: DateTime,
});
export type ClaimMade = z.infer<typeof ClaimMade>;

/** Data of `ClaimDenied`: a party's public rejection of a claim. */
export const ClaimDenied = z.strictObject({
  claimId: ClaimId,
  denier: Party,
  spokesperson: Spokesperson.optional(),
  statement: LongText,
  source: Source.optional(),
  statedAt: DateTime,
});
export type ClaimDenied = z.infer<typeof ClaimDenied>;

/** Data of `ClaimConfirmed`: an official body's public confirmation of a claim. */
export const ClaimConfirmed = z.strictObject({
  claimId: ClaimId,
  confirmer: OfficialParty,
  official: Spokesperson.optional(),
  statement: LongText,
  caveats: z.array(LongText).optional(),
  source: Source.optional(),
  statedAt: DateTime,
});
export type ClaimConfirmed = z.infer<typeof ClaimConfirmed>;

/** Data of `ClaimRetracted`: the claimant withdrawing its own claim. */
export const ClaimRetracted = z.strictObject({
  claimId: ClaimId,
  by: PartyId,
  reason: LongText,
  statedAt: DateTime,
});
export type ClaimRetracted = z.infer<typeof ClaimRetracted>;

/** The names of the claim events. */
export const ClaimEventType = z.enum(['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted']);
export type ClaimEventType = z.infer<typeof ClaimEventType>;

// The envelope validates `type` and `data` only; metadata, ids and positions belong to the event store.
/** A claim event: `{ type, data }`, discriminated by `type`. */
export const ClaimEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ClaimMade'), data: ClaimMade }),
  z.object({ type: z.literal('ClaimDenied'), data: ClaimDenied }),
  z.object({ type: z.literal('ClaimConfirmed'), data: ClaimConfirmed }),
  z.object({ type: z.literal('ClaimRetracted'), data: ClaimRetracted }),
]);
export type ClaimEvent = z.infer<typeof ClaimEvent>;

/*
 * The events as stored, for reading. The schemas above are the rules new events must meet when they are
 * written; an event written under older rules must stay readable (DESIGN §3), so reads check only what the
 * folds rely on: every field with its JSON type, and `statedAt` as an instant they can compare. Rules that
 * only new input must meet (look-alike actor names, well-formed Unicode, lengths, slugs, the ISO list, URL
 * forms) are not applied again, and members a newer writer added are kept, not refused.
 */
// `kind` keeps its list: the read models and the HTTP answers show it as one of those kinds, and the list has
// only ever grown (a kind taken out would need an upcaster naming what it became).
const StoredParty = z.looseObject({ id: z.string().min(1), name: z.string(), kind: PartyKind });
const StoredSpokesperson = z.looseObject({ name: z.string(), title: z.string().optional() });
const StoredSource = z.looseObject({
  url: z.string(),
  title: z.string().optional(),
  publishedAt: z.string().optional(),
});

/**
 * A claim event as read back from the store: `{ type, data }` with the fields of `ClaimEvent` and their JSON
 * types, without the input rules (see above). Its output has `ClaimEvent`'s shape.
 *
 * @example
 * ```ts
 * StoredClaimEvent.safeParse({ type: 'ClaimMade', data: storedData }).success;
 * ```
 */
export const StoredClaimEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ClaimMade'),
    data: z.looseObject({
      claimId: z.string().min(1),
      claimant: StoredParty,
      spokesperson: StoredSpokesperson.optional(),
      actor: z.looseObject({ id: z.string().min(1), name: z.string(), aliases: z.array(z.string()) }),
      attribution: z.looseObject({ state: z.string().min(1), relation: z.string() }),
      targets: z.array(z.string()).default([]),
      summary: z.string(),
      campaign: z.string().optional(),
      confidence: z.number().optional(),
      source: StoredSource,
      statedAt: DateTime,
    }),
  }),
  z.object({
    type: z.literal('ClaimDenied'),
    data: z.looseObject({
      claimId: z.string().min(1),
      denier: StoredParty,
      spokesperson: StoredSpokesperson.optional(),
      statement: z.string(),
      source: StoredSource.optional(),
      statedAt: DateTime,
    }),
  }),
  z.object({
    type: z.literal('ClaimConfirmed'),
    data: z.looseObject({
      claimId: z.string().min(1),
      confirmer: StoredParty,
      official: StoredSpokesperson.optional(),
      statement: z.string(),
      caveats: z.array(z.string()).optional(),
      source: StoredSource.optional(),
      statedAt: DateTime,
    }),
  }),
  z.object({
    type: z.literal('ClaimRetracted'),
    data: z.looseObject({
      claimId: z.string().min(1),
      by: z.string().min(1),
      reason: z.string(),
      statedAt: DateTime,
    }),
  }),
]);

/** The claim event of one type: `ClaimEventOf<'ClaimDenied'>`. */
export type ClaimEventOf<T extends ClaimEventType> = Extract<ClaimEvent, { type: T }>;

/**
 * Metadata written with every event. Loose on purpose: integrity fields (hash chains, signatures) will be
 * added later, and an older reader must keep them rather than fail on them.
 */
export const EventMetadata = z.looseObject({
  recordedAt: DateTime,
  principal: z.string().min(1),
  requestId: z.string().min(1),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).optional(),
  schemaVersion: z.int().min(1),
});
export type EventMetadata = z.infer<typeof EventMetadata>;

/** A stored event as an event store hands it back, before its data is trusted. */
export interface StoredEventShape {
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: { readonly [key: string]: unknown } | undefined;
}

const CLAIM_EVENT_TYPES: ReadonlySet<string> = new Set(ClaimEventType.options);

/**
 * Lifts a stored claim event of any schema version to the current shape. Stored events are never rewritten:
 * upcast on every read instead.
 *
 * - Events written before versioning (no `schemaVersion`) are version 1, the current shape: only the
 *   version is filled in.
 * - Versions this package does not know (written by newer code) and unknown event types are returned
 *   untouched, so that folds can ignore them rather than crash.
 * - The input is never mutated.
 *
 * @example
 * ```ts
 * const current = upcastClaimEvent({ type: 'ClaimDenied', data, metadata: { recordedAt } });
 * current.metadata?.schemaVersion; // 1
 * ```
 */
export function upcastClaimEvent<E extends StoredEventShape>(event: E): E {
  if (!CLAIM_EVENT_TYPES.has(event.type)) return event;
  const version = event.metadata?.schemaVersion;
  if (version !== undefined) return event;
  return { ...event, metadata: { ...event.metadata, schemaVersion: CURRENT_SCHEMA_VERSION } };
}
