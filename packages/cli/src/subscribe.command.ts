import { LedgerApiError } from './ledger-client.js';

export interface SubscribeOptions {
  readonly url: string;
  readonly key: string;
  /** `claims`, `denials`, `confirmations`, `retractions` or `all`. */
  readonly topic: string;
  readonly actor?: string | undefined;
  readonly state?: string | undefined;
  /** Start strictly after this position (default: from the start). */
  readonly from?: number | undefined;
  /** Receives one line per event. */
  readonly print: (line: string) => void;
  /** Receives a line whenever the connection drops and is retried. */
  readonly warn?: (line: string) => void;
  /** Aborting it ends the subscription (SIGINT). */
  readonly signal: AbortSignal;
  /** The first delay before reconnecting (doubling up to `maxBackoffMs`; default 500 ms). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** One event as the stream carries it (the audit event of DESIGN §6). */
interface StreamEvent {
  readonly position: number;
  readonly type: string;
  readonly actorId: string;
  readonly party: { readonly name: string };
  readonly data: { readonly summary?: string; readonly statement?: string; readonly reason?: string };
}

/**
 * The line printed for one event: `<position> <type> <actor> <party name>: <text>`, the text being the claim's
 * summary, the statement, or the retraction's reason.
 *
 * @example
 * ```ts
 * formatEvent(event); // '42 ClaimDenied zirconium Ministry of Foreign Affairs: China firmly opposes…'
 * ```
 */
export function formatEvent(event: StreamEvent): string {
  const text = event.data.summary ?? event.data.statement ?? event.data.reason ?? '';
  return `${event.position} ${event.type} ${event.actorId} ${event.party.name}: ${text.replace(/\s+/g, ' ')}`;
}

/** A problem status that retrying cannot fix (a bad topic, filter or key). */
const permanent = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    // An 'abort' listener added after the abort never fires: a signal already aborted must not wait.
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

/**
 * Follows `GET /v1/subscriptions/:topic` over Server-Sent Events until `signal` aborts, printing each event.
 * A dropped connection is retried with backoff and `Last-Event-ID` of the last event seen, so nothing is
 * missed or printed twice. Rejects with `LedgerApiError` on a 4xx answer (retrying cannot fix it).
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * process.once('SIGINT', () => stop.abort());
 * await runSubscribe({ url, key, topic: 'denials', actor: 'zirconium', print: console.log, signal: stop.signal });
 * ```
 */
export async function runSubscribe(options: SubscribeOptions): Promise<{ lastPosition: number | undefined }> {
  const { signal } = options;
  const query = new URLSearchParams();
  if (options.actor !== undefined) query.set('actor', options.actor);
  if (options.state !== undefined) query.set('state', options.state);
  if (options.from !== undefined) query.set('from', String(options.from));
  const endpoint = `${options.url.replace(/\/+$/, '')}/v1/subscriptions/${encodeURIComponent(options.topic)}${
    query.size > 0 ? `?${query}` : ''
  }`;
  const initialBackoff = options.backoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  let backoff = initialBackoff;
  let lastId: string | undefined;

  while (!signal.aborted) {
    let reason: string;
    try {
      const response = await fetch(endpoint, {
        headers: {
          authorization: `Bearer ${options.key}`,
          accept: 'text/event-stream',
          ...(lastId === undefined ? {} : { 'last-event-id': lastId }),
        },
        signal,
      });
      if (!response.ok) {
        const text = await response.text();
        const problem = (text.length > 0 ? JSON.parse(text) : {}) as Record<string, unknown>;
        if (permanent(response.status)) throw new LedgerApiError(response.status, problem);
        reason = `${response.status} ${String(problem.title ?? '')}`;
      } else {
        for await (const frame of frames(response.body!)) {
          backoff = initialBackoff;
          if (frame.event === 'error') {
            options.warn?.(`the ledger ended the stream: ${frame.data ?? ''}`);
            continue;
          }
          if (frame.id === undefined || frame.data === undefined) continue;
          options.print(formatEvent(JSON.parse(frame.data) as StreamEvent));
          lastId = frame.id;
        }
        reason = 'the ledger closed the stream';
      }
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof LedgerApiError) throw error;
      reason = (error as Error).message;
    }
    if (signal.aborted) break;
    options.warn?.(
      `${reason}; reconnecting in ${backoff} ms${lastId === undefined ? '' : ` after ${lastId}`}`,
    );
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, maxBackoff);
  }
  return { lastPosition: lastId === undefined ? undefined : Number(lastId) };
}

interface Frame {
  id?: string;
  event?: string;
  data?: string;
}

/** The SSE frames of a body (comments and `retry:` skipped). */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame: Frame = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon === 0) continue;
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id' || field === 'event') frame[field] = value;
        else if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
      }
      if (frame.id !== undefined || frame.event !== undefined || frame.data !== undefined) yield frame;
    }
  }
}
