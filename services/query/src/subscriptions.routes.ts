import type { ServerResponse } from 'node:http';
import { ActorId, StateCode } from '@ledger/domain';
import { type LedgerMetrics, PROBLEM_TYPE_BASE, ProblemDetails } from '@ledger/http';
import type { AuditEvent, EventFilter, LedgerQueries } from '@ledger/projections';
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { caughtUp } from './caught-up.js';
import { decimalDigits, MinPosition } from './query.schemas.js';

export interface SubscriptionsRoutesOptions {
  readonly queries: LedgerQueries;
  /** The longest `minPosition` wait before a `503` (`LEDGER_CONSISTENCY_WAIT_MS`; default 5 000 ms). */
  readonly consistencyWaitMs?: number;
  /** A `: heartbeat` comment after this much silence (default 15 000 ms). */
  readonly heartbeatMs?: number;
  /** A stream whose unsent bytes pass this is cut off as a slow consumer (default 1 MiB). */
  readonly maxBufferedBytes?: number;
  /** A stream whose socket does not drain within this is cut off as a slow consumer (default 30 000 ms). */
  readonly drainTimeoutMs?: number;
  /** Events read from read.db per page (default 500). */
  readonly pageSize?: number;
  /** Counts open streams (`ledger_sse_clients`). */
  readonly metrics?: Pick<LedgerMetrics, 'sseClient'>;
}

export const Topic = z.enum(['claims', 'denials', 'confirmations', 'retractions', 'all']);
export type Topic = z.infer<typeof Topic>;

/** The topics of DESIGN §8 and the event types each carries. */
const TOPIC_TYPES: Record<Topic, readonly string[]> = {
  claims: ['ClaimMade'],
  denials: ['ClaimDenied'],
  confirmations: ['ClaimConfirmed'],
  retractions: ['ClaimRetracted'],
  all: ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted'],
};

/** A position as a client sends it: a non-negative integer in decimal digits. */
const Position = decimalDigits('must be a non-negative integer position');

export const SubscriptionParams = z.object({ topic: Topic }).strict();

export const SubscriptionQuery = z
  .object({
    from: Position.optional().describe('resume with the events strictly after this position (default 0)'),
    actor: ActorId.optional(),
    state: StateCode.optional(),
    minPosition: MinPosition.describe(
      'start the stream only once the read models have folded this position (503 after the consistency wait)',
    ),
  })
  .strict();

/** Other headers pass through untouched; `Last-Event-ID` wins over `from`. */
export const SubscriptionHeaders = z.looseObject({ 'last-event-id': Position.optional() });

const SLOW_CONSUMER = JSON.stringify({
  type: `${PROBLEM_TYPE_BASE}slow-consumer`,
  title: 'Slow consumer',
  status: 503,
  detail:
    'the stream was cut off because the client did not read it fast enough; reconnect with Last-Event-ID',
});

/** One open stream, as the plugin's close hook sees it. */
interface OpenStream {
  stop(): void;
}

/** The SSE frame of one event: `id` = position, so `Last-Event-ID` resumes right after it. */
function frame(event: AuditEvent): string {
  return `id: ${event.position}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * `GET /v1/subscriptions/:topic` (DESIGN §6, §8): Server-Sent Events served from the read models, so it scales
 * with the query nodes. It sends the events after `Last-Event-ID` (or `?from=`, else from the start) in pages,
 * then follows the projector as it commits, with a `: heartbeat` comment after each `heartbeatMs` of silence.
 *
 * Memory per stream is bounded: when the socket does not take a frame the loop awaits `drain`; a stream whose
 * unsent bytes pass `maxBufferedBytes`, or that does not drain within `drainTimeoutMs`, gets a final
 * `event: error` frame (`…/problems/slow-consumer`) and its connection is closed. A closing server ends every
 * open stream at once.
 *
 * @example
 * ```ts
 * await app.register(subscriptionsRoutes, { queries });
 * // curl -N -H "Authorization: Bearer $KEY" "$L/v1/subscriptions/denials?actor=zirconium"
 * ```
 */
export const subscriptionsRoutes: FastifyPluginAsync<SubscriptionsRoutesOptions> = async (
  fastify,
  options,
) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { queries } = options;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  const pageSize = options.pageSize ?? 500;
  const consistencyWaitMs = options.consistencyWaitMs ?? 5_000;
  const open = new Set<OpenStream>();

  fastify.addHook('preClose', async () => {
    for (const stream of [...open]) stream.stop();
    // Waits for the projector answer `false` at once, so no stream loop outlives the server.
    queries.interruptWaits();
  });

  app.get(
    '/v1/subscriptions/:topic',
    {
      // A HEAD response discards what is written to it, so the stream would run, unseen, until the client left.
      exposeHeadRoute: false,
      config: { scope: 'read' },
      schema: {
        tags: ['subscriptions'],
        summary: 'Follow a topic as Server-Sent Events, resuming after Last-Event-ID or ?from=',
        params: SubscriptionParams,
        querystring: SubscriptionQuery,
        headers: SubscriptionHeaders,
        response: {
          200: {
            description: 'frames `id: <position>`, `event: <type>`, `data: <audit event JSON>`',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          400: ProblemDetails,
          401: ProblemDetails,
          403: ProblemDetails,
          503: ProblemDetails,
        },
      },
    },
    async (request, reply) => {
      const { actor, state, from, minPosition } = request.query;
      const filter = { types: TOPIC_TYPES[request.params.topic], actor, state };
      const after = request.headers['last-event-id'] ?? from ?? 0;
      await caughtUp(queries, minPosition, consistencyWaitMs);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      const stream = new SseStream(res, request.log, { maxBufferedBytes, drainTimeoutMs });
      open.add(stream);
      options.metrics?.sseClient(1);
      // The response closes when the client goes away (or once it ended): stop reading for it.
      res.once('close', () => stream.stop());
      try {
        await follow(stream, after, filter);
      } finally {
        open.delete(stream);
        options.metrics?.sseClient(-1);
        stream.stop();
      }
    },
  );

  async function follow(stream: SseStream, after: number, filter: EventFilter): Promise<void> {
    let cursor = after;
    await stream.write(`retry: 2000\n\n`);
    while (!stream.stopped) {
      // Read the checkpoint first: a short page then holds every match up to it (rows commit with it).
      const seen = queries.checkpoint();
      const page = queries.eventsAfter(cursor, filter, pageSize);
      for (const event of page) {
        if (!(await stream.write(frame(event)))) return;
        cursor = event.position;
      }
      if (page.length === pageSize) continue;
      const silentFor = Date.now() - stream.lastWriteAt;
      if (silentFor >= heartbeatMs) {
        if (!(await stream.write(': heartbeat\n\n'))) return;
        continue;
      }
      await Promise.race([queries.waitForPosition(seen + 1, heartbeatMs - silentFor), stream.stopping]);
    }
  }
};

/** One response as an SSE stream with bounded buffering. */
class SseStream implements OpenStream {
  readonly #res: ServerResponse;
  readonly #log: FastifyBaseLogger;
  readonly #maxBufferedBytes: number;
  readonly #drainTimeoutMs: number;
  #stopped = false;
  #onStop!: () => void;
  /** Resolves once the stream stops (client gone, server closing, or cut off). */
  readonly stopping = new Promise<void>((resolve) => {
    this.#onStop = resolve;
  });
  lastWriteAt = Date.now();

  constructor(
    res: ServerResponse,
    log: FastifyBaseLogger,
    limits: { maxBufferedBytes: number; drainTimeoutMs: number },
  ) {
    this.#res = res;
    this.#log = log;
    this.#maxBufferedBytes = limits.maxBufferedBytes;
    this.#drainTimeoutMs = limits.drainTimeoutMs;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Writes `chunk`, awaiting `drain` when the socket is full; `false` once the stream has stopped. */
  async write(chunk: string): Promise<boolean> {
    if (this.#stopped) return false;
    this.lastWriteAt = Date.now();
    if (this.#res.write(chunk)) return true;
    if (this.#res.writableLength > this.#maxBufferedBytes) return this.#cutOff('buffer');
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.#res.once('drain', () => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.#drainTimeoutMs);
      }),
      this.stopping.then(() => true),
    ]);
    clearTimeout(timer);
    if (!drained) return this.#cutOff('drain-timeout');
    return !this.#stopped;
  }

  /** Ends the response (the client left, or the server closes); the connection closes with it. */
  stop(): void {
    if (this.#stopped) return;
    this.#finish('');
  }

  #cutOff(reason: 'buffer' | 'drain-timeout'): false {
    this.#log.warn(
      { reason, bufferedBytes: this.#res.writableLength, maxBufferedBytes: this.#maxBufferedBytes },
      'subscription cut off: slow consumer',
    );
    this.#finish(`event: error\ndata: ${SLOW_CONSUMER}\n\n`);
    return false;
  }

  #finish(last: string): void {
    this.#stopped = true;
    this.#onStop();
    const socket = this.#res.socket;
    // A reader that does not read would hold the final frame, and the socket, for ever: reset it soon.
    const reset = setTimeout(
      () => {
        if (socket !== null && !socket.destroyed) socket.resetAndDestroy();
      },
      Math.min(this.#drainTimeoutMs, 1000),
    );
    reset.unref();
    this.#res.end(last, () => {
      clearTimeout(reset);
      socket?.end();
    });
  }
}
