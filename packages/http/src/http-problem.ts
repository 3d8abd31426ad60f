import { z } from 'zod';

/** Where problem `type` URIs live: `https://attribution-ledger.dev/problems/<code>`. */
export const PROBLEM_TYPE_BASE = 'https://attribution-ledger.dev/problems/';

/** The media type of every error body. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One failing field: `body.attribution.state`, `params.claimId`, `querystring.limit`. */
export const FieldError = z.object({ path: z.string(), message: z.string() });
export type FieldError = z.infer<typeof FieldError>;

/**
 * An RFC 9457 problem body. Loose, so that a route's declared error schema never refuses to serialise a
 * problem that carries an extension member.
 */
export const ProblemDetails = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    errors: z.array(FieldError).optional(),
  })
  .meta({ id: 'ProblemDetails', description: 'RFC 9457 problem details (application/problem+json)' });
export type ProblemDetails = z.infer<typeof ProblemDetails>;

const HTTP_PROBLEM_BRAND = Symbol.for('@ledger/http.HttpProblem');

/** Optional parts of an `HttpProblem`. */
export interface HttpProblemOptions {
  readonly errors?: readonly FieldError[];
  /** Response headers to send with the problem (`WWW-Authenticate`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An error that is answered as the problem it describes. Plugins and routes throw it for the statuses the
 * domain does not produce (401, 403, 409, 413, 415, 429, 503).
 *
 * @example
 * ```ts
 * throw new HttpProblem(503, 'not-ready', 'Service Unavailable', 'read models are catching up', {
 *   headers: { 'retry-after': '1' },
 * });
 * ```
 */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  readonly status: number;
  /** Stable, kebab-case; the last segment of the problem `type`. */
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: readonly FieldError[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, title: string, detail: string, options: HttpProblemOptions = {}) {
    super(detail);
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  /** The RFC 9457 body. */
  toJSON(): ProblemDetails {
    return problemBody(this.status, this.code, this.title, this.detail, this.errors);
  }
}

Object.defineProperty(HttpProblem.prototype, HTTP_PROBLEM_BRAND, { value: true });

/** Whether `e` is an `HttpProblem`, also from another copy of this package. */
export function isHttpProblem(e: unknown): e is HttpProblem {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[HTTP_PROBLEM_BRAND] === true;
}

/** Builds a problem body. */
export function problemBody(
  status: number,
  code: string,
  title: string,
  detail: string,
  errors?: readonly FieldError[],
): ProblemDetails {
  return {
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title,
    status,
    detail,
    ...(errors === undefined ? {} : { errors: [...errors] }),
  };
}
