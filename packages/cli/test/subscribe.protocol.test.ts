/**
 * `runSubscribe`'s handling of what a server or a proxy in front of it may send that the real ledger does not
 * send on demand: a 503 before the stream, CRLF line endings, comments and `retry:` lines, frames without data,
 * a ledger-ended stream, a 4xx. The stream against the real ledger is tested end to end (test/e2e).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatEvent, LedgerApiError, runSubscribe } from '@ledger/cli';
import t from 'tap';

const event = (position: number, data: Record<string, string>) =>
  JSON.stringify({
    position,
    type: 'ClaimDenied',
    actorId: 'zirconium',
    party: { id: 'cn-mfa', name: 'PRC MFA', kind: 'government' },
    data,
  });

t.test('retries a 503, reads CRLF frames, resumes with Last-Event-ID, stops at a 4xx', async (t) => {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    seen.push(request.headers);
    const attempt = seen.length;
    if (attempt === 1) {
      response.writeHead(503, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ title: 'Service Unavailable', status: 503 }));
    } else if (attempt === 2) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(': heartbeat\r\n\r\nretry: 1000\r\n\r\n');
      response.write(
        `id: 1\r\nevent: ClaimDenied\r\ndata: ${event(1, { statement: 'No.\n  Never.' })}\r\n\r\n`,
      );
      response.write('id: 2\n\n');
      response.write(`id: 3\nevent: ClaimDenied\ndata: ${event(3, { reason: 'withdrawn' })}\n\n`);
      response.end('event: error\ndata: {"type":"slow-consumer"}\n\n');
    } else if (attempt === 3) {
      response.writeHead(502);
      response.end();
    } else {
      response.writeHead(404, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ title: 'Not Found', status: 404, detail: 'no such topic' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const printed: string[] = [];
  const warned: string[] = [];
  const error = await runSubscribe({
    url: `http://127.0.0.1:${port}/`,
    key: 'k',
    topic: 'denials',
    actor: 'zirconium',
    state: 'CN',
    from: 0,
    print: (line) => printed.push(line),
    warn: (line) => warned.push(line),
    signal: new AbortController().signal,
    backoffMs: 1,
    maxBackoffMs: 2,
  }).catch((caught: unknown) => caught);
  t.ok(error instanceof LedgerApiError && error.status === 404, 'a 4xx ends it: retrying cannot fix it');
  t.same(printed, [
    '1 ClaimDenied zirconium PRC MFA: No. Never.',
    '3 ClaimDenied zirconium PRC MFA: withdrawn',
  ]);
  t.match(warned, [
    /^503 Service Unavailable; reconnecting/,
    /ended the stream/,
    /closed the stream; reconnecting in \d+ ms after 3/,
    /^502 ; reconnecting/,
  ]);
  t.equal(seen[0]?.['last-event-id'], undefined);
  t.equal(seen[2]?.['last-event-id'], '3', 'resumed after the last event it printed');
  t.equal(seen[0]?.authorization, 'Bearer k');
});

t.test('aborting while it waits to reconnect ends it at once', async (t) => {
  const stop = new AbortController();
  const done = runSubscribe({
    url: 'http://127.0.0.1:1',
    key: 'k',
    topic: 'all',
    print: () => {},
    warn: () => stop.abort(),
    signal: stop.signal,
    backoffMs: 60_000,
  });
  t.same(await done, { lastPosition: undefined });
});

t.test('formatEvent says what the event says, whatever kind it is', async (t) => {
  const base = {
    position: 9,
    type: 'ClaimMade',
    actorId: 'a',
    party: { id: 'p', name: 'P', kind: 'vendor' },
  };
  t.equal(formatEvent({ ...base, data: { summary: 'S' } } as never), '9 ClaimMade a P: S');
  t.equal(formatEvent({ ...base, data: {} } as never), '9 ClaimMade a P: ');
});
