/**
 * Typed errors of the ledger's domain.
 *
 * Every error carries a stable, kebab-case `code` that HTTP layers, logs and clients can rely on; the message
 * is for humans and may change. `DomainRuleError` becomes a `422`, `NotFoundError` a `404`.
 */

/** Codes of the domain rules that `decide` enforces (each answered as `422`). */
export type DomainRuleCode =
  | 'claim-already-exists'
  | 'confirmer-not-official'
  | 'retraction-not-by-claimant'
  | 'claim-retracted'
  | 'stated-before-claim';

/** Codes of the things that can be missing (each answered as `404`). */
export type NotFoundCode = 'claim-not-found' | 'actor-not-found';

/** Every code of the errors defined here (`actor-not-found` is for the read side's `404`). */
export type DomainErrorCode = DomainRuleCode | NotFoundCode;

/** Machine-readable context of an error (ids, the offending values); never secrets. */
export type ErrorDetails = Readonly<Record<string, unknown>>;

// A registry symbol survives duplicated copies of this package (two versions in one node_modules tree), where
// `instanceof` would fail; it sits on the prototype, non-enumerable, so it never shows in logs or JSON.
const LEDGER_ERROR_BRAND = Symbol.for('@ledger/domain.LedgerError');

// Names of the ledger's error classes, for errors whose prototype was lost (re-thrown as plain objects).
const LEDGER_ERROR_NAMES: ReadonlySet<string> = new Set([
  'LedgerError',
  'DomainRuleError',
  'NotFoundError',
  'ConcurrencyError',
]);

// Ledger codes are kebab-case; Node's and most libraries' codes are upper case (`ENOENT`, `FST_ERR_…`).
const KEBAB_CODE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/**
 * Base class of every error the ledger throws on purpose.
 *
 * @example
 * ```ts
 * class ConcurrencyError extends LedgerError {
 *   override readonly name = 'ConcurrencyError';
 * }
 * throw new ConcurrencyError('concurrency-conflict', 'stream claim-… moved on', { expected: 3n });
 * ```
 */
export class LedgerError extends Error {
  override readonly name: string = 'LedgerError';
  /** Stable, kebab-case, safe to branch on. */
  readonly code: string;
  /** Context for clients and logs (claim id, offending values). */
  readonly details: ErrorDetails | undefined;

  constructor(code: string, message: string, details?: ErrorDetails) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

Object.defineProperty(LedgerError.prototype, LEDGER_ERROR_BRAND, { value: true });

/**
 * A domain rule was broken by an otherwise well-formed command (HTTP `422`).
 *
 * @example
 * ```ts
 * throw new DomainRuleError('claim-retracted', 'the claim was retracted', { claimId });
 * ```
 */
export class DomainRuleError extends LedgerError {
  override readonly name = 'DomainRuleError';
  declare readonly code: DomainRuleCode;

  // Only narrows the accepted codes.
  constructor(code: DomainRuleCode, message: string, details?: ErrorDetails) {
    super(code, message, details);
  }
}

/**
 * The thing a command or query is about does not exist (HTTP `404`).
 *
 * @example
 * ```ts
 * throw new NotFoundError('claim-not-found', `no claim ${claimId}`, { claimId });
 * ```
 */
export class NotFoundError extends LedgerError {
  override readonly name = 'NotFoundError';
  declare readonly code: NotFoundCode;

  // Only narrows the accepted codes.
  constructor(code: NotFoundCode, message: string, details?: ErrorDetails) {
    super(code, message, details);
  }
}

/**
 * Whether `e` is a ledger error, also when it comes from another copy of this package (where `instanceof`
 * fails) or lost its prototype: it then needs a ledger error name and a kebab-case `code`.
 *
 * @example
 * ```ts
 * try { decide(command, state); } catch (e) {
 *   if (isLedgerError(e) && e.code === 'claim-not-found') reply.code(404);
 * }
 * ```
 */
export function isLedgerError(e: unknown): e is LedgerError {
  if (typeof e !== 'object' || e === null) return false;
  const candidate = e as { readonly [key: PropertyKey]: unknown };
  if (typeof candidate.code !== 'string' || typeof candidate.message !== 'string') return false;
  if (candidate[LEDGER_ERROR_BRAND] === true) return true;
  return (
    typeof candidate.name === 'string' &&
    LEDGER_ERROR_NAMES.has(candidate.name) &&
    KEBAB_CODE.test(candidate.code)
  );
}
