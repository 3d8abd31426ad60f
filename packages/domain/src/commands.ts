/**
 * HTTP request bodies and the commands built from them.
 *
 * Ids and time come in with a command (the server makes the claim id and reads the clock); the domain never
 * generates an id or reads a clock, so `decide` stays a pure function.
 */
import { z } from 'zod';
import { ClaimConfirmed, ClaimDenied, ClaimMade, ClaimRetracted } from './events.js';
import { ActorName, ClaimId, Party, ShortText } from './values.js';

/** The actor as a client names it: its id is derived, so an `id` field is rejected as unknown. */
export const ActorInput = z.strictObject({ name: ActorName, aliases: z.array(ShortText).optional() });
export type ActorInput = z.infer<typeof ActorInput>;

/** Body of `POST /v1/claims`: `ClaimMade` data without `claimId` and without `actor.id`. */
export const ClaimInput = ClaimMade.omit({ claimId: true }).extend({ actor: ActorInput });
export type ClaimInput = z.infer<typeof ClaimInput>;

/** Body of `POST /v1/claims/:claimId/denials`. */
export const DenialInput = ClaimDenied.omit({ claimId: true });
export type DenialInput = z.infer<typeof DenialInput>;

/**
 * Body of `POST /v1/claims/:claimId/confirmations`. The confirmer may be of any kind here: that only officials
 * confirm is a domain rule (`422`), not a field rule (`400`).
 */
export const ConfirmationInput = ClaimConfirmed.omit({ claimId: true }).extend({ confirmer: Party });
export type ConfirmationInput = z.infer<typeof ConfirmationInput>;

/** Body of `POST /v1/claims/:claimId/retractions`. */
export const RetractionInput = ClaimRetracted.omit({ claimId: true });
export type RetractionInput = z.infer<typeof RetractionInput>;

// `claimId` first, as in the events, so that stored JSON reads the same way.
/** Make a new claim (the claim id is chosen by the caller). */
export const MakeClaim = z.object({
  type: z.literal('MakeClaim'),
  data: z.strictObject({ claimId: ClaimId, ...ClaimInput.shape }),
});
export type MakeClaim = z.infer<typeof MakeClaim>;

/** Deny an existing claim. */
export const DenyClaim = z.object({
  type: z.literal('DenyClaim'),
  data: z.strictObject({ claimId: ClaimId, ...DenialInput.shape }),
});
export type DenyClaim = z.infer<typeof DenyClaim>;

/** Confirm an existing claim (officials only, checked by `decide`). */
export const ConfirmClaim = z.object({
  type: z.literal('ConfirmClaim'),
  data: z.strictObject({ claimId: ClaimId, ...ConfirmationInput.shape }),
});
export type ConfirmClaim = z.infer<typeof ConfirmClaim>;

/** Retract a claim (its claimant only, checked by `decide`). */
export const RetractClaim = z.object({
  type: z.literal('RetractClaim'),
  data: z.strictObject({ claimId: ClaimId, ...RetractionInput.shape }),
});
export type RetractClaim = z.infer<typeof RetractClaim>;

/** Every command the claim decider takes. */
export const ClaimCommand = z.discriminatedUnion('type', [MakeClaim, DenyClaim, ConfirmClaim, RetractClaim]);
export type ClaimCommand = z.infer<typeof ClaimCommand>;
