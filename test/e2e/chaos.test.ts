/**
 * Crash safety, measured: the all-in-one process is SIGKILLed at random moments of mixed concurrent ingest,
 * round after round. After every restart every `201` is there, nothing is stored twice (idempotent retries of
 * requests cut off by the kill included), and at the end the read models equal a rebuild from zero and the
 * hash chain verifies (`ledger verify`).
 * `CHAOS_ROUNDS` and `CHAOS_SEED` reproduce or extend a run; the seed is printed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { claimBody, confirmationBody, denialBody } from './fixtures/bodies.js';
import { type Answer, call, type LedgerProcess, startLedgerProcess } from './fixtures/ledger-process.js';

const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 20);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
const WRITERS = 8;
const cli = fileURLToPath(new URL('../../packages/cli/bin/ledger.js', import.meta.url));

interface Written {
  readonly claimId: string;
  readonly eventId: string;
  readonly position: number;
}

interface AuditEvent {
  readonly eventId: string;
  readonly type: string;
  readonly claimId: string;
  readonly position: number;
  readonly data: { readonly summary?: string };
}

/** A small seeded generator (mulberry32): the same seed gives the same kill moments and request mix. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

async function auditAll(url: string, minPosition: number): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let cursor: string | null = null;
  do {
    const page: Answer<{ events: AuditEvent[]; next: string | null }> = await call(
      url,
      'GET',
      `/v1/audit?limit=500${minPosition > 0 ? `&minPosition=${minPosition}` : ''}${cursor === null ? '' : `&cursor=${cursor}`}`,
    );
    if (page.status !== 200) throw new Error(`audit answered ${page.status}`);
    events.push(...page.body.events);
    cursor = page.body.next;
  } while (cursor !== null);
  return events;
}

t.test(`${ROUNDS} SIGKILLs at random moments of mixed ingest lose and double nothing`, async (t) => {
  t.comment(`CHAOS_SEED=${SEED} CHAOS_ROUNDS=${ROUNDS}`);
  const next = random(SEED);
  const dataDir = t.testdir();
  const acknowledged = new Map<string, Written>();
  const claims: string[] = [];
  // Requests cut off by a kill, to be retried with the same Idempotency-Key after the restart.
  let unanswered: { key: string; body: Record<string, unknown> }[] = [];
  let highest = 0;
  let requests = 0;

  const acknowledge = (answer: Answer<Written>) => {
    acknowledged.set(answer.body.eventId, answer.body);
    highest = Math.max(highest, answer.body.position);
  };

  const writer = async (ledger: LedgerProcess, round: number, w: number, stop: () => boolean) => {
    for (let i = 0; !stop(); i += 1) {
      requests += 1;
      const roll = next();
      const claimId = claims[Math.floor(next() * claims.length)];
      try {
        if (roll < 0.5 || claimId === undefined) {
          const key = `chaos-${SEED}-${round}-${w}-${i}`;
          const body = claimBody({ actor: { name: `Chaos ${w % 5}` }, summary: key });
          try {
            const made = await call<Written>(ledger.url, 'POST', '/v1/claims', {
              body,
              headers: { 'idempotency-key': key },
            });
            if (made.status === 201) {
              acknowledge(made);
              claims.push(made.body.claimId);
            }
          } catch (error) {
            unanswered.push({ key, body });
            throw error;
          }
        } else if (roll < 0.75) {
          const denied = await call<Written>(ledger.url, 'POST', `/v1/claims/${claimId}/denials`, {
            body: denialBody(),
          });
          if (denied.status === 201) acknowledge(denied);
        } else if (roll < 0.95) {
          const confirmed = await call<Written>(ledger.url, 'POST', `/v1/claims/${claimId}/confirmations`, {
            body: confirmationBody(),
          });
          if (confirmed.status === 201) acknowledge(confirmed);
        } else {
          const retracted = await call<Written>(ledger.url, 'POST', `/v1/claims/${claimId}/retractions`, {
            body: { by: 'acme-intel', reason: 'withdrawn', statedAt: '2023-07-01T00:00:00Z' },
          });
          if (retracted.status === 201) acknowledge(retracted);
        }
      } catch {
        // The connection died with the process: not acknowledged, so nothing is owed.
      }
    }
  };

  let ledger = await startLedgerProcess(dataDir);
  // Whatever fails midway, no ledger process outlives the test.
  t.teardown(() => ledger.kill());
  for (let round = 0; round < ROUNDS; round += 1) {
    // Requests the previous kill cut off: the same key must give one claim, whether it had been stored or not.
    for (const { key, body } of unanswered) {
      const retried = await call<Written>(ledger.url, 'POST', '/v1/claims', {
        body,
        headers: { 'idempotency-key': key },
      });
      if (retried.status === 201) {
        acknowledge(retried);
        claims.push(retried.body.claimId);
      }
    }
    unanswered = [];
    let killed = false;
    const killAfterMs = 50 + Math.floor(next() * 600);
    const killer = new Promise<void>((resolve) =>
      setTimeout(() => {
        killed = true;
        void ledger.kill().then(resolve);
      }, killAfterMs),
    );
    await Promise.all([
      killer,
      ...Array.from({ length: WRITERS }, (_, w) => writer(ledger, round, w, () => killed)),
    ]);
    ledger = await startLedgerProcess(dataDir);

    const events = await auditAll(ledger.url, highest);
    const stored = new Set(events.map((event) => event.eventId));
    const missing = [...acknowledged.keys()].filter((id) => !stored.has(id));
    if (missing.length > 0)
      t.fail(`round ${round}: ${missing.length} acknowledged events missing after restart`);
    const summaries = events.filter((e) => e.type === 'ClaimMade').map((e) => e.data.summary);
    if (new Set(summaries).size !== summaries.length) t.fail(`round ${round}: a claim was stored twice`);
    if (stored.size !== events.length) t.fail(`round ${round}: an event id appears twice`);
  }
  t.pass(
    `${ROUNDS} rounds, ${requests} requests, ${acknowledged.size} acknowledged events checked after each restart`,
  );
  t.ok(acknowledged.size > ROUNDS * 5, 'the rounds did write');

  // Every acknowledged event, once, after the last restart; then read models against a rebuild from zero.
  const events = await auditAll(ledger.url, highest);
  t.equal(
    events.filter((event) => acknowledged.has(event.eventId)).length,
    acknowledged.size,
    'all 201s present',
  );
  const snapshot = async (url: string) => {
    const actors = await call<{ actors: Array<{ actorId: string }> }>(
      url,
      'GET',
      `/v1/actors?minPosition=${highest}`,
    );
    const views: unknown[] = [actors.body];
    for (const actor of actors.body.actors) {
      views.push((await call(url, 'GET', `/v1/actors/${actor.actorId}`)).body);
      views.push((await call(url, 'GET', `/v1/actors/${actor.actorId}/disputes`)).body);
    }
    views.push(await auditAll(url, highest));
    return views;
  };
  const live = await snapshot(ledger.url);
  t.equal(await ledger.stop(), 0);
  // --force: every ledger is stopped, but the killed ones left projector leases younger than the 15 s that
  // `ledger rebuild` waits for on its own.
  const rebuilt = spawn(process.execPath, [cli, 'rebuild', '--data-dir', dataDir, '--force'], {
    stdio: 'ignore',
  });
  t.equal(await new Promise((resolve) => rebuilt.on('exit', resolve)), 0, 'ledger rebuild from zero');
  ledger = await startLedgerProcess(dataDir);
  const restarted = ledger;
  t.same(
    await snapshot(restarted.url),
    live,
    `read models after ${ROUNDS} crashes equal a rebuild from zero`,
  );
  const verify = spawn(process.execPath, [cli, 'verify', '--data-dir', dataDir], { stdio: 'ignore' });
  t.equal(await new Promise((resolve) => verify.on('exit', resolve)), 0, 'and the hash chain verifies');
});
