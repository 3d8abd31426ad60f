import {
  ActorId,
  AttributionStatus,
  ClaimEventType,
  DateTime,
  PartyId,
  PartyKind,
  StateCode,
} from '@ledger/domain';
import { z } from 'zod';

/**
 * A whole number as a query string or header carries it: decimal digits only. `z.coerce.number` would also
 * take `0x10`, `1e2` and `  5`, none of which a client means as a position or a page size.
 */
export function decimalDigits(message: string) {
  return z
    .string()
    .regex(/^\d{1,15}$/, message)
    .transform(Number);
}

const DecimalInteger = decimalDigits('must be a whole number in decimal digits');

/** `minPosition=N`: answer only once the read models have folded position N (read-your-writes). */
export const MinPosition = DecimalInteger.pipe(z.number().int().positive()).optional();

/** Lists page with `limit` (default 100, at most 500) and an opaque `cursor`. */
const Limit = DecimalInteger.pipe(z.number().int().min(1).max(500)).default(100);
const Cursor = z.string().min(1).max(512).optional();

// An unencoded `+` in a query string decodes as a space, so `asOf=2020-09-10T14:00:00+02:00` arrives as
// `…14:00:00 02:00`. A space can never stand there in a date-time, so it is read back as the `+` it was.
const SPACE_BEFORE_OFFSET = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?) (\d\d:\d\d)$/;

/** A date-time in a query string: RFC 3339 with a zone, `+hh:mm` given with or without percent-encoding. */
const QueryDateTime = z
  .string()
  .meta({ format: 'date-time' })
  .transform((value) => value.replace(SPACE_BEFORE_OFFSET, '$1+$2'))
  .pipe(DateTime);

export const Cutoffs = z
  .object({
    asOf: QueryDateTime.optional(),
    knownAt: QueryDateTime.optional(),
    minPosition: MinPosition,
  })
  .strict();

// Ingest stores claim ids in lower case; a client may send them in either case (UUIDs are case-insensitive).
const ClaimIdParam = z.uuid().toLowerCase();
export const ClaimParams = z.object({ claimId: ClaimIdParam }).strict();
export const ActorParams = z.object({ actorId: ActorId }).strict();

export const ClaimsQuery = z
  .object({
    actor: ActorId.optional(),
    claimant: PartyId.optional(),
    state: StateCode.optional(),
    status: AttributionStatus.optional(),
    limit: Limit,
    cursor: Cursor,
    minPosition: MinPosition,
  })
  .strict();

export const ActorsQuery = z
  .object({
    status: AttributionStatus.optional(),
    state: StateCode.optional(),
    limit: Limit,
    cursor: Cursor,
    minPosition: MinPosition,
  })
  .strict();

/** `type` takes event type names, repeated (`type=A&type=B`) or comma-separated (`type=A,B`). */
const EventTypes = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')))
  .pipe(z.array(ClaimEventType).min(1));

export const AuditQuery = z
  .object({
    party: PartyId.optional(),
    actor: ActorId.optional(),
    claim: ClaimIdParam.optional(),
    type: EventTypes.optional(),
    recordedFrom: QueryDateTime.optional(),
    recordedTo: QueryDateTime.optional(),
    limit: Limit,
    cursor: Cursor,
    minPosition: MinPosition,
  })
  .strict();

const PartyView = z.object({ id: z.string(), name: z.string(), kind: PartyKind });
const Next = z.string().nullable();
const Json = z.record(z.string(), z.unknown());

export const ClaimView = z
  .object({
    claimId: z.string(),
    status: AttributionStatus,
    revision: z.number().int(),
    denials: z.array(Json),
    confirmations: z.array(Json),
    retraction: Json.optional(),
  })
  .passthrough();

export const ClaimList = z.object({ claims: z.array(ClaimView), next: Next });

export const ActorListItem = z.object({
  actorId: z.string(),
  name: z.string(),
  aliases: z.array(z.string()),
  status: AttributionStatus,
  attributions: z.array(z.object({ state: z.string(), status: AttributionStatus })),
  lastStatedAt: z.string(),
});
export const ActorList = z.object({ actors: z.array(ActorListItem), next: Next });

export const ActorView = z.object({
  actorId: z.string(),
  name: z.string(),
  aliases: z.array(z.string()),
  status: AttributionStatus,
  attributions: z.array(
    z.object({
      state: z.string(),
      status: AttributionStatus,
      claims: z.number().int(),
      activeClaims: z.number().int(),
      denials: z.number().int(),
      confirmations: z.number().int(),
      claimants: z.array(z.string()),
      deniers: z.array(z.string()),
      confirmers: z.array(z.string()),
      firstStatedAt: z.string(),
      lastStatedAt: z.string(),
    }),
  ),
  position: z.number().int(),
});

export const Disputes = z.object({
  actorId: z.string(),
  entries: z.array(
    z.object({
      kind: z.enum(['claim', 'denial', 'confirmation', 'retraction']),
      claimId: z.string(),
      party: PartyView,
      statedAt: z.string(),
      recordedAt: z.string(),
      text: z.string(),
      source: Json.optional(),
      position: z.number().int(),
    }),
  ),
});

export const AuditPage = z.object({
  events: z.array(
    z.object({
      position: z.number().int(),
      eventId: z.string(),
      type: z.string(),
      streamId: z.string(),
      claimId: z.string(),
      actorId: z.string(),
      party: PartyView,
      statedAt: z.string(),
      recordedAt: z.string(),
      principal: z.string(),
      data: Json,
    }),
  ),
  next: Next,
});
