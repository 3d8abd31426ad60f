import { HttpProblem, NoQuery, ProblemDetails } from '@ledger/http';
import type { LedgerIntegrity } from '@ledger/integrity';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface IntegrityRoutesOptions {
  readonly integrity: LedgerIntegrity;
}

const Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const Checkpoint = z
  .object({
    treeSize: z.int().nonnegative(),
    rootHash: Hex,
    lastPosition: z.int().nonnegative(),
    signedAt: z.string(),
    signature: z
      .string()
      .meta({ description: 'Ed25519 over the RFC 8785 JSON of the other four fields, base64' }),
  })
  .meta({ id: 'IntegrityCheckpoint' });

export const IntegrityReport = z
  .object({
    ok: z.boolean(),
    checkedEvents: z.int().nonnegative(),
    firstBadPosition: z.int().positive().optional(),
    reason: z.string().optional(),
    detail: z.string().optional(),
    checkpoint: Checkpoint.nullable(),
  })
  .meta({ id: 'IntegrityReport' });

export const IntegrityPublicKey = z
  .object({
    algorithm: z.literal('Ed25519'),
    publicKeyPem: z.string(),
    publicKeyBase64: z.string(),
    keyId: z.string(),
  })
  .meta({ id: 'IntegrityPublicKey' });

export const InclusionProof = z
  .object({
    position: z.int().positive(),
    leafIndex: z.int().nonnegative(),
    treeSize: z.int().positive(),
    eventHash: Hex,
    leafHash: Hex,
    auditPath: z.array(Hex),
    rootHash: Hex,
    checkpoint: Checkpoint,
    event: z.object({
      position: z.int().positive(),
      streamId: z.string(),
      revision: z.int().nonnegative(),
      id: z.string(),
      type: z.string(),
      data: z.unknown(),
      metadata: z.unknown(),
      created: z.string(),
    }),
  })
  .meta({ id: 'InclusionProof' });

export const ProofParams = z
  .object({
    position: z
      .string()
      .regex(/^[1-9][0-9]{0,17}$/, 'must be a positive integer')
      .transform((text) => BigInt(text)),
  })
  .strict();

function integrityFailure(error: unknown): never {
  if ((error as { code?: unknown }).code !== 'integrity-failure') throw error;
  throw new HttpProblem(503, 'integrity-failure', 'Integrity check failed', (error as Error).message);
}

/**
 * Tamper evidence over HTTP. `GET /v1/integrity` recomputes the whole chain and Merkle tree, checks the latest
 * signed checkpoint and signs a new one when the log has grown; `GET /v1/integrity/proof/:position` proves one
 * event's inclusion in a signed tree; `GET /v1/integrity/key` serves the public key without authentication.
 */
export const integrityRoutes: FastifyPluginAsync<IntegrityRoutesOptions> = async (fastify, { integrity }) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/v1/integrity',
    {
      config: { scope: 'read' },
      schema: {
        querystring: NoQuery,
        tags: ['integrity'],
        summary:
          'Verify the whole log (hash chain, Merkle root, latest signed checkpoint); sign a new checkpoint',
        response: { 200: IntegrityReport, 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails },
      },
    },
    async () => {
      const { report, checkpoint } = await integrity.checkpoint();
      const { checkpoint: _checked, ...rest } = report;
      return { ...rest, checkpoint: checkpoint ?? null };
    },
  );

  app.get(
    '/v1/integrity/key',
    {
      // Public: anyone checking a proof needs it, and a key published widely is harder to substitute.
      config: { public: true },
      schema: {
        querystring: NoQuery,
        tags: ['integrity'],
        summary: 'The Ed25519 public key that signs checkpoints (no authentication)',
        security: [],
        response: { 200: IntegrityPublicKey, 400: ProblemDetails },
      },
    },
    async () => integrity.publicKey,
  );

  app.get(
    '/v1/integrity/proof/:position',
    {
      config: { scope: 'read' },
      schema: {
        querystring: NoQuery,
        tags: ['integrity'],
        summary: 'An inclusion proof of the event at a position in a signed Merkle tree, checkable offline',
        params: ProofParams,
        response: {
          200: InclusionProof,
          400: ProblemDetails,
          401: ProblemDetails,
          403: ProblemDetails,
          404: ProblemDetails,
          503: ProblemDetails,
        },
      },
    },
    async (request) => {
      const { position } = request.params;
      const proof = await integrity.proof(position).catch(integrityFailure);
      if (proof === undefined) {
        throw new HttpProblem(404, 'event-not-found', 'Event not found', `no event at position ${position}`);
      }
      return { ...proof, auditPath: [...proof.auditPath] };
    },
  );
};
