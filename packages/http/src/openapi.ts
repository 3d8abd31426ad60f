import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import helmet, { type HelmetOptions } from 'helmet';

export interface OpenApiOptions {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

/**
 * OpenAPI 3 from the routes' zod schemas (`jsonSchemaTransform`), served at `/docs` (UI) and `/docs/json`,
 * with the bearer scheme declared. Register it before the routes it should describe.
 *
 * It also sets Helmet's security headers on every response: the Swagger UI is the ledger's one HTML page, and
 * its Content-Security-Policy allows scripts and styles from the ledger itself plus whatever inline hashes the
 * UI declares (`app.swaggerCSP`, empty in the current version); the JSON routes get the same headers
 * (`nosniff`, no cross-origin framing, no referrer).
 *
 * @example
 * ```ts
 * await registerOpenApi(app, { title: 'Attribution Ledger — ingest', version: '1.0.0' });
 * ```
 */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: options.title,
        version: options.version,
        ...(options.description === undefined ? {} : { description: options.description }),
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
    },
    transform: (input) => withRateLimitAnswer(input.url, jsonSchemaTransform(input)),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  const headers = helmetHeaders({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        scriptSrc: ["'self'", ...app.swaggerCSP.script],
        styleSrc: ["'self'", ...app.swaggerCSP.style],
        // Served over plain HTTP on 127.0.0.1 by default: upgrading would break the page.
        upgradeInsecureRequests: null,
      },
    },
    // A TLS terminator in front sets HSTS for its own host; the ledger does not know its public name.
    strictTransportSecurity: false,
  });
  const entries = Object.entries(headers);
  // On the raw response: routes that hijack the reply and write their own head (SSE) get them too.
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of entries) reply.raw.setHeader(name, value);
    done();
  });
}

/**
 * Every authenticated `/v1` route (one that documents its `401`) may also answer `429` to a key over its rate
 * limit (the rate-limit plugin applies to all of them, admin keys excepted, so the admin routes never do): the
 * answer is documented where the routes' own schemas cannot know of it, with the `401`'s problem shape.
 */
function withRateLimitAnswer<T extends { schema: unknown }>(url: string, transformed: T): T {
  const response = (transformed.schema as { response?: Record<string, unknown> } | undefined)?.response;
  const unauthorised = response?.['401'];
  if (response === undefined || unauthorised === undefined || response['429'] !== undefined)
    return transformed;
  if (!url.startsWith('/v1/') || url.startsWith('/v1/admin/')) return transformed;
  response['429'] = {
    ...(unauthorised as object),
    description:
      'Too Many Requests: the key made more than LEDGER_RATE_LIMIT requests this minute (Retry-After)',
  };
  return transformed;
}

/**
 * The headers Helmet sets with `options`, computed once. They depend on the options only (no per-request
 * nonces), and `@fastify/helmet` rebuilt Helmet's middleware, CSP parsing included, on every request: 5% of
 * the ingest path's CPU in a profile.
 */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const response = new ServerResponse(new IncomingMessage(new Socket()));
  helmet(options)(response.req, response, (error?: unknown) => {
    if (error !== undefined) throw error;
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.getHeaders())) headers[name] = String(value);
  return headers;
}
