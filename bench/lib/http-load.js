/**
 * The HTTP load generator of the `http` suite, run as its own process (`fork`) so that it does not share an event
 * loop with the server or with the suite's lag probes. It receives one job over IPC, runs autocannon, sends back
 * a summary and exits.
 *
 * Job: `{ url, connections, seconds, kind: 'claims' | 'get', path?, headers }`. `claims` posts a different
 * claim body per request (`claimRequestBody`); `get` repeats `GET path`.
 */
import autocannon from 'autocannon';
import { claimRequestBody } from './claim-events.js';

process.once('message', async (job) => {
  let sequence = job.sequenceStart ?? 0;
  const request =
    job.kind === 'claims'
      ? {
          method: 'POST',
          path: '/v1/claims',
          setupRequest: (req) => {
            sequence += 1;
            return { ...req, body: JSON.stringify(claimRequestBody(sequence)) };
          },
        }
      : { method: 'GET', path: job.path };
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    headers: { 'content-type': 'application/json', ...job.headers },
    requests: [request],
  });
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]),
  );
  process.send(
    {
      requests: result.requests.total,
      seconds: result.duration,
      rate: result.requests.total / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      statusCodes,
    },
    () => process.exit(0),
  );
});
