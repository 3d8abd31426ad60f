import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { HttpProblem } from './http-problem.js';
import { problemErrorHandler, problemNotFoundHandler, sendProblem, toHttpProblem } from './problem-json.js';

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

// A client's request id is honoured only if it is short and printable: it ends up in logs and event metadata.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A fastify 5 app with the zod validator and serializer, JSON bodies only, a 1 MiB body limit, request ids (`x-request-id`
 * honoured when sent, else a UUID; echoed on every response), and the problem+json error and not-found
 * handlers. Every service builds on it.
 *
 * @example
 * ```ts
 * const app = createHttpApp({ logger: createLogger(config, 'ingest') });
 * await app.register(authPlugin, { keys: state.keys });
 * ```
 */
export function createHttpApp(options: CreateHttpAppOptions): HttpApp {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestIdHeader: false,
    genReqId: (req) => {
      const sent = req.headers['x-request-id'];
      return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
    },
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
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler(problemNotFoundHandler);
  return app;
}
