/**
 * Errors → HTTP, in one place. Every error a request can raise ends here and leaves as RFC 9457
 * `application/problem+json`; nothing a client sent is answered with a 500.
 */
import { STATUS_CODES } from 'node:http';
import { isLedgerError } from '@ledger/domain';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { type FieldError, HttpProblem, isHttpProblem, PROBLEM_CONTENT_TYPE } from './http-problem.js';

type Issue = {
  readonly instancePath?: string;
  readonly message?: string;
  readonly keyword?: string;
  readonly params?: unknown;
};

function joinPath(context: string | undefined, instancePath: string | undefined): string {
  const segments = (instancePath ?? '').split('/').filter((segment) => segment !== '');
  return [context ?? 'body', ...segments].join('.');
}

/** Zod reports unknown fields as one issue on their parent; clients need each unknown field named. */
function fieldErrors(context: string | undefined, issues: readonly Issue[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    const base = joinPath(context, issue.instancePath);
    const keys = (issue.params as { keys?: unknown } | undefined)?.keys;
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      for (const key of keys) errors.push({ path: `${base}.${String(key)}`, message: 'unknown field' });
    } else {
      errors.push({ path: base, message: issue.message ?? 'is invalid' });
    }
  }
  return errors;
}

const FASTIFY_PROBLEMS: Readonly<Record<string, readonly [number, string, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload-too-large', 'Content Too Large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported-media-type', 'Unsupported Media Type'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid-json', 'Bad Request'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid-json', 'Bad Request'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid-content-length', 'Bad Request'],
  FST_ERR_BAD_URL: [400, 'bad-url', 'Bad Request'],
};

const FASTIFY_DETAILS: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is larger than the limit',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'the request body must be application/json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'the request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'the request body is empty but declared as JSON',
};

function ledgerStatus(name: string, code: string): [number, string] {
  if (name === 'NotFoundError' || code.endsWith('-not-found')) return [404, 'Not Found'];
  if (name === 'ConcurrencyError') return [409, 'Conflict'];
  return [422, 'Unprocessable Content'];
}

const STORE_PROBLEMS: Readonly<Record<string, HttpProblem>> = {
  'wrong-expected-version': new HttpProblem(
    409,
    'concurrency-conflict',
    'Conflict',
    'the claim changed concurrently; retry the request',
  ),
  'duplicate-event-id': new HttpProblem(
    409,
    'duplicate-event-id',
    'Conflict',
    'the event id is already stored',
  ),
  'store-unavailable': new HttpProblem(
    503,
    'store-unavailable',
    'Service Unavailable',
    'the event store did not answer: the request may not have been recorded; retry with the same Idempotency-Key, which finds it if it was',
    { headers: { 'retry-after': '5' } },
  ),
  'store-busy': new HttpProblem(
    503,
    'store-busy',
    'Service Unavailable',
    "another process holds the event store's write lock; nothing was recorded, retry (with the same Idempotency-Key)",
    { headers: { 'retry-after': '1' } },
  ),
  'event-store-closed': new HttpProblem(
    503,
    'unavailable',
    'Service Unavailable',
    'the service is shutting down',
    {
      headers: { 'retry-after': '1' },
    },
  ),
};

const DATABASE_BUSY = new HttpProblem(
  503,
  'database-busy',
  'Service Unavailable',
  'a database of the ledger is locked by another process; retry (with the same Idempotency-Key) later',
  { headers: { 'retry-after': '1' } },
);

/**
 * Maps any error to the problem that answers it; `undefined` means "unexpected": answer 500 and log it.
 *
 * @example
 * ```ts
 * toHttpProblem(new NotFoundError('claim-not-found', 'no claim c1'))?.status; // 404
 * ```
 */
export function toHttpProblem(error: unknown): HttpProblem | undefined {
  if (isHttpProblem(error)) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    return invalidRequest(fieldErrors(validationContextOf(error), error.validation));
  }
  if (isLedgerError(error)) {
    const [status, title] = ledgerStatus(error.name, error.code);
    return new HttpProblem(status, error.code, title, error.message);
  }
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode, validation, validationContext } = error as Partial<FastifyError>;
  if (typeof code !== 'string') return undefined;
  const store = STORE_PROBLEMS[code];
  if (store !== undefined) return store;
  // Another SQLite file (state.db, read.db) locked past its busy timeout by another process: not the client's
  // doing, and over once that process commits.
  if (code.startsWith('SQLITE_BUSY')) return DATABASE_BUSY;
  const known = FASTIFY_PROBLEMS[code];
  if (known !== undefined) {
    const [status, problemCode, title] = known;
    return new HttpProblem(status, problemCode, title, FASTIFY_DETAILS[code] ?? 'the request is malformed');
  }
  if (Array.isArray(validation)) return invalidRequest(fieldErrors(validationContext, validation));
  // Other fastify errors that blame the client (a bad header, an unsupported method, a path too long) keep
  // their status, with its own title and code.
  if (code.startsWith('FST_') && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const title = STATUS_CODES[statusCode] ?? 'Bad Request';
    const problemCode = title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    return new HttpProblem(statusCode, problemCode, title, 'the request is malformed');
  }
  // The client went away while its body was arriving (fastify marks such body-stream errors 400): nothing to
  // answer, and not the server's fault. Any other connection reset stays unexpected.
  const aborted = code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
  if (aborted && statusCode === 400) {
    return new HttpProblem(
      400,
      'request-aborted',
      'Bad Request',
      'the client closed the request before its end',
    );
  }
  return undefined;
}

/** Most field errors one answer lists: a body of 60 000 unknown fields must not get a 4 MB answer. */
export const MAX_FIELD_ERRORS = 100;

function validationContextOf(error: unknown): string | undefined {
  return (error as { validationContext?: string }).validationContext;
}

function invalidRequest(all: FieldError[]): HttpProblem {
  const errors = all.slice(0, MAX_FIELD_ERRORS);
  const paths = [...new Set(errors.map((e) => e.path))];
  const more = all.length > errors.length ? ` (and ${all.length - errors.length} more errors)` : '';
  const detail = `invalid request: ${paths.join(', ')}${more}`;
  return new HttpProblem(400, 'invalid-request', 'Bad Request', detail, { errors });
}

/** The parts of a request in the order fastify validates them, each with where its raw value is. */
const REQUEST_PARTS = [
  ['params', (request: FastifyRequest) => request.params],
  ['body', (request: FastifyRequest) => request.body],
  ['querystring', (request: FastifyRequest) => request.query],
  ['headers', (request: FastifyRequest) => request.headers],
] as const;

interface SafeParser {
  safeParse(value: unknown): {
    success: boolean;
    error?: { issues: ReadonlyArray<{ code: string; path: PropertyKey[]; message: string; keys?: unknown }> };
  };
}

/**
 * fastify validates params, body, querystring and headers in that order and stops at the first part that
 * fails; DESIGN §6 wants every bad field named. So when one part failed, the parts fastify did not reach are
 * checked here against the route's zod schemas, and their errors join the answer. Only on a failure: a valid
 * request is validated once.
 */
function errorsOfUnreachedParts(request: FastifyRequest, failed: string | undefined): FieldError[] {
  const schemas = request.routeOptions.schema as Record<string, unknown> | undefined;
  const start = REQUEST_PARTS.findIndex(([part]) => part === failed);
  if (schemas === undefined || start < 0) return [];
  const errors: FieldError[] = [];
  for (const [part, raw] of REQUEST_PARTS.slice(start + 1)) {
    const schema = schemas[part] as SafeParser | undefined;
    if (typeof schema?.safeParse !== 'function') continue;
    const result = schema.safeParse(raw(request));
    if (result.success || result.error === undefined) continue;
    const issues = result.error.issues.map((issue) => ({
      instancePath: `/${issue.path.map(String).join('/')}`,
      keyword: issue.code,
      message: issue.message,
      params: { keys: issue.keys },
    }));
    errors.push(...fieldErrors(part, issues));
  }
  return errors;
}

const INTERNAL = new HttpProblem(500, 'internal', 'Internal Server Error', 'an unexpected error occurred');

/** Sends `problem` as `application/problem+json` with its headers. */
export function sendProblem(reply: FastifyReply, problem: HttpProblem): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.toJSON());
}

/** The one error handler of a process (set by `createHttpApp`). */
export function problemErrorHandler(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const problem = hasZodFastifySchemaValidationErrors(error)
    ? invalidRequest([
        ...fieldErrors(validationContextOf(error), error.validation),
        ...errorsOfUnreachedParts(request, validationContextOf(error)),
      ])
    : toHttpProblem(error);
  if (problem === undefined) {
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(reply, INTERNAL);
  }
  if (problem.status >= 500) request.log.warn({ err: error }, problem.detail);
  else request.log.info({ status: problem.status, code: problem.code }, problem.detail);
  return sendProblem(reply, problem);
}

/** The not-found handler of a process: unknown routes are a 404 problem. */
export function problemNotFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(
    reply,
    new HttpProblem(
      404,
      'route-not-found',
      'Not Found',
      `no route ${request.method} ${request.url.split('?')[0]}`,
    ),
  );
}
