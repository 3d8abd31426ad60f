import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RawServerDefault,
} from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { HttpProblem, PROBLEM_TYPE_BASE } from './http-problem.js';
import { duplicateKeys } from './json-body.js';
import { problemErrorHandler, problemNotFoundHandler, sendProblem, toHttpProblem } from './problem-json.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Fields the request's one log line (`request completed`) carries besides method, url and status. */
    completionLogFields: Record<string, unknown> | undefined;
  }
}

/**
 * Adds `fields` to the one line logged when the request ends, e.g. the claim and position a write appended:
 * one line per request instead of one more line for each fact.
 *
 * @example
 * ```ts
 * logOnCompletion(request, { claimId, eventId, position });
 * ```
 */
export function logOnCompletion(request: FastifyRequest, fields: Record<string, unknown>): void {
  request.completionLogFields = { ...request.completionLogFields, ...fields };
}

/**
 * fastify's request log lines, one per request: nothing when a request arrives, and when it is answered
 * `request completed` (or `request errored`, at error level) with the request, the status, the time taken and the
 * route's `logOnCompletion` fields. Under load, fastify's two lines plus a route's own took 8% of the main
 * thread. fastify's other lines (stream, serializer and writeHead errors) are kept.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = {
      req: request,
      res: reply,
      responseTime: reply.elapsedTime,
      ...request.completionLogFields,
    };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else reply.log.info(fields, 'request completed');
  }
}

/** A fastify instance with the zod type provider, as every ledger service uses it. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export interface CreateHttpAppOptions {
  /** The process's root logger (`createLogger`). */
  readonly logger: FastifyBaseLogger;
  /** Largest accepted body in bytes; default 1 MiB (DESIGN §6). */
  readonly bodyLimit?: number;
}

/** The default body limit: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1_048_576;

/**
 * Longest path parameter accepted. Actor ids are slugs of names up to 200 characters (lower-casing may lengthen
 * them) and arrive percent-encoded; fastify's default of 100 would answer such a `GET /v1/actors/:actorId` 414.
 */
export const MAX_PARAM_LENGTH = 1024;

// A client's request id is honoured only if it is short and printable: it ends up in logs and event metadata.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A fastify 5 app with the zod validator and serializer, JSON bodies only (a key given twice in one object is a
 * 400 naming it; `__proto__` and `constructor` keys are refused as fastify does), a 1 MiB body limit, path
 * parameters up to 1024 characters, request ids (`x-request-id` honoured when sent, else a UUID; echoed on
 * every response), the problem+json error and not-found handlers, and one log line per answered request
 * (`request completed`, with `logOnCompletion` fields). Every service builds on it.
 *
 * While `close()` drains, every response carries `Connection: close` and idle keep-alive connections are closed
 * as soon as they become idle, so a drain lasts as long as the slowest in-flight request, not the 72 s
 * keep-alive timeout of a connection whose request finished during it.
 *
 * @example
 * ```ts
 * const app = createHttpApp({ logger: createLogger(config, 'ingest') });
 * await app.register(authPlugin, { keys: state.keys });
 * ```
 */
/**
 * Requests Node's HTTP parser refuses before fastify sees them (headers over Node's 16 KiB limit, a malformed
 * request line) are answered as problem+json too, like everything else: 431 for oversized headers, 408 for a
 * request that timed out, 400 otherwise.
 */
function writeClientErrorProblem(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, title, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers-too-large', 'Request Header Fields Too Large', 'the request headers exceed 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', 'Request Timeout', 'the request did not arrive in time']
        : [400, 'bad-request', 'Bad Request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ type: `${PROBLEM_TYPE_BASE}${code}`, title, status, detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** RFC 8259: JSON exchanged between systems is UTF-8. `fatal`: bytes that are not UTF-8 throw. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const INVALID_UTF8 = new HttpProblem(
  400,
  'invalid-json',
  'Bad Request',
  'the request body is not valid UTF-8',
);
const UNSUPPORTED_CHARSET = new HttpProblem(
  415,
  'unsupported-media-type',
  'Unsupported Media Type',
  'the request body must be application/json in UTF-8 (RFC 8259)',
);
const FORBIDDEN_KEY = new HttpProblem(
  400,
  'invalid-json',
  'Bad Request',
  'the request body has a "__proto__" or "constructor" key, which is refused (prototype poisoning)',
);

/** The `charset` parameter of a Content-Type, lower-cased; undefined without one. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match?.[1]?.toLowerCase();
}

/** Whether `text` is JSON that plain `JSON.parse` accepts (the safe parser refuses some of it). */
function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function createHttpApp(options: CreateHttpAppOptions): HttpApp {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestIdHeader: false,
    logController: new OneLinePerRequest(),
    genReqId: (req) => {
      const sent = req.headers['x-request-id'];
      return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
    },
    clientErrorHandler: writeClientErrorProblem,
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      const problem =
        toHttpProblem(error) ??
        new HttpProblem(400, 'bad-request', 'Bad Request', 'the request is malformed');
      sendProblem(reply, problem);
    },
  }).withTypeProvider<ZodTypeProvider>();
  // Bodies are JSON only (DESIGN §6): without this, text/plain would reach validation and be a 400, not a 415.
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return done(UNSUPPORTED_CHARSET, undefined);
    }
    let body: string;
    try {
      body = UTF8.decode(raw as Buffer); // parseAs: 'buffer'
    } catch {
      // Decoding leniently would replace the bad bytes with U+FFFD and record what the client never sent.
      return done(INVALID_UTF8, undefined);
    }
    parseJson(request, body, (error, value) => {
      if (error !== null) return done(isValidJson(body) ? FORBIDDEN_KEY : error, undefined);
      // RFC 8259 leaves duplicate keys to the parser (JSON.parse keeps the last); a ledger records what was
      // said, so an ambiguous body is refused rather than silently resolved.
      const paths = duplicateKeys(body);
      if (paths.length === 0) return done(null, value);
      const errors = paths.map((path) => ({ path, message: 'duplicate key' }));
      const detail = `invalid request: duplicate keys ${paths.join(', ')}`;
      done(new HttpProblem(400, 'invalid-request', 'Bad Request', detail, { errors }), undefined);
    });
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('completionLogFields', undefined);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // A client gone before its answer (an SSE subscriber leaving, a POST whose client hung up) gets its line too.
  app.addHook('onRequestAbort', (request, done) => {
    request.log.info({ req: request, ...request.completionLogFields }, 'request aborted');
    done();
  });
  drainConnectionsOnClose(app);
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler(problemNotFoundHandler);
  return app;
}

/**
 * fastify closes idle keep-alive connections once, when `close()` starts; a connection whose request was in
 * flight then stays open after its response until the keep-alive timeout, and `close()` waits for it. While
 * closing, answer with `Connection: close` (Node ends the socket after the response) and close whatever became
 * idle after each response (covers responses whose headers were sent before the drain began).
 */
function drainConnectionsOnClose(app: HttpApp): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (_request, _reply, done) => {
    if (closing) app.server.closeIdleConnections();
    done();
  });
}
