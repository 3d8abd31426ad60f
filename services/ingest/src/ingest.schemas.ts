import { ProblemDetails } from '@ledger/http';
import { z } from 'zod';

/** `201` body of every write (DESIGN §6). */
export const WriteResult = z
  .object({
    claimId: z.uuid(),
    eventId: z.uuid(),
    position: z.int().positive().describe('global commit position of the event'),
    revision: z.int().min(0).describe("the event's 0-based index in the claim's stream"),
  })
  .meta({ id: 'WriteResult' });
export type WriteResult = z.infer<typeof WriteResult>;

/** `:claimId` of the sub-resource routes: a UUID, lower-cased so that one claim has one stream name. */
export const ClaimParams = z.strictObject({ claimId: z.uuid().toLowerCase() });

const PRINTABLE = /^[\x20-\x7E]{1,255}$/;
const TOKEN = /^[\x21-\x7E]{1,255}$/;

/** The request headers a write reads; other headers pass through untouched. */
export const WriteHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .regex(PRINTABLE, 'must be 1 to 255 printable ASCII characters')
    // Node joins a header sent twice with ", ": two keys would silently become a third.
    .refine((key) => !key.includes(','), 'must be one key, without a comma (sent twice?)')
    .optional()
    .describe('IETF httpapi Idempotency-Key: retries with the same key and body replay the first response'),
  'x-correlation-id': z.string().regex(TOKEN, 'must be 1 to 255 visible ASCII characters').optional(),
  'x-causation-id': z.string().regex(TOKEN, 'must be 1 to 255 visible ASCII characters').optional(),
});
export type WriteHeaders = z.infer<typeof WriteHeaders>;

const problem = ProblemDetails;

/** Response schemas of every write route, by status. */
export const writeResponses = {
  201: WriteResult,
  400: problem.describe('invalid input: every failing field is named in errors'),
  401: problem.describe('no, unknown or revoked key'),
  403: problem.describe('the key lacks the scope, or may not speak as this party'),
  409: problem.describe('a concurrent request with the same Idempotency-Key, or a concurrency conflict'),
  413: problem.describe('body over 1 MiB'),
  415: problem.describe('body is not application/json'),
  422: problem.describe('a domain rule was broken, or the Idempotency-Key was used with another body'),
  503: problem.describe('shutting down'),
};

/** As `writeResponses`, with the `404` of routes under an existing claim. */
export const claimWriteResponses = { ...writeResponses, 404: problem.describe('no such claim') };
