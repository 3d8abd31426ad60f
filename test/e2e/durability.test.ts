/**
 * What survives: a clean restart, a SIGKILL in the middle of concurrent ingest, and read models rebuilt from
 * zero by `ledger rebuild`, which must equal the live ones. Each test runs the real process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { claimBody, confirmationBody, denialBody } from './fixtures/bodies.js';
import { call, startLedgerProcess } from './fixtures/ledger-process.js';

const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
type Written = { claimId: string; position: number; revision: number };

t.test('a clean restart keeps every claim and answers the same', async (t) => {
  const dataDir = t.testdir();
  const first = await startLedgerProcess(dataDir);
  const made = await call<Written>(first.url, 'POST', '/v1/claims', { body: claimBody() });
  const denied = await call<Written>(first.url, 'POST', `/v1/claims/${made.body.claimId}/denials`, {
    body: denialBody(),
  });
  const before = await call(first.url, 'GET', `/v1/actors/volt-typhoon?minPosition=${denied.body.position}`);
  t.equal(await first.stop(), 0, 'SIGTERM drains and exits 0');

  const second = await startLedgerProcess(dataDir);
  t.teardown(() => second.stop());
  const after = await call(second.url, 'GET', `/v1/actors/volt-typhoon?minPosition=${denied.body.position}`);
  t.same(after.body, before.body, 'the actor reads the same after the restart');
  const next = await call<Written>(second.url, 'POST', `/v1/claims/${made.body.claimId}/confirmations`, {
    body: confirmationBody(),
  });
  t.equal(next.body.revision, 2, 'and the claim takes new events at the next revision');
});

t.test('kill -9 during concurrent ingest loses no acknowledged claim', async (t) => {
  const dataDir = t.testdir();
  const first = await startLedgerProcess(dataDir);
  const acknowledged: Written[] = [];
  let killed = false;
  const writers = Array.from({ length: 32 }, async (_, w) => {
    for (let i = 0; i < 40 && !killed; i += 1) {
      try {
        const answer = await call<Written>(first.url, 'POST', '/v1/claims', {
          body: claimBody({ actor: { name: `Crash Actor ${w}` }, summary: `claim ${w}-${i}` }),
        });
        if (answer.status === 201) acknowledged.push(answer.body);
      } catch {
        // The connection died with the process: this request was never acknowledged.
      }
      if (acknowledged.length >= 200 && !killed) {
        killed = true;
        await first.kill();
      }
    }
  });
  await Promise.all(writers);
  t.ok(killed, `killed after ${acknowledged.length} acknowledged claims`);

  const second = await startLedgerProcess(dataDir);
  t.teardown(() => second.stop());
  const highest = Math.max(...acknowledged.map((a) => a.position));
  let missing = 0;
  for (const ack of acknowledged) {
    const answer = await call(second.url, 'GET', `/v1/claims/${ack.claimId}?minPosition=${highest}`);
    if (answer.status !== 200) missing += 1;
  }
  t.equal(missing, 0, `all ${acknowledged.length} acknowledged claims are there after the restart`);
  const audit = await call<{ events: Array<{ claimId: string }> }>(
    second.url,
    'GET',
    `/v1/audit?type=ClaimMade&limit=500&minPosition=${highest}`,
  );
  const ids = audit.body.events.map((e) => e.claimId);
  t.equal(new Set(ids).size, ids.length, 'and none is stored twice');
});

t.test('read models rebuilt from zero by `ledger rebuild` equal the live ones', async (t) => {
  const dataDir = t.testdir();
  const live = await startLedgerProcess(dataDir);
  let last = 0;
  for (let i = 0; i < 12; i += 1) {
    const made = await call<Written>(live.url, 'POST', '/v1/claims', {
      body: claimBody({
        actor: { name: `Rebuild ${i % 4}` },
        attribution: { state: ['CN', 'RU', 'IR'][i % 3], relation: 'operating-from' },
      }),
    });
    last = made.body.position;
    if (i % 2 === 0) {
      last = (
        await call<Written>(live.url, 'POST', `/v1/claims/${made.body.claimId}/denials`, {
          body: denialBody(),
        })
      ).body.position;
    }
    if (i % 3 === 0) {
      last = (
        await call<Written>(live.url, 'POST', `/v1/claims/${made.body.claimId}/confirmations`, {
          body: confirmationBody(),
        })
      ).body.position;
    }
    if (i === 5) {
      last = (
        await call<Written>(live.url, 'POST', `/v1/claims/${made.body.claimId}/retractions`, {
          body: { by: 'acme-intel', reason: 'withdrawn', statedAt: '2023-07-01T00:00:00Z' },
        })
      ).body.position;
    }
  }
  const snapshot = async (url: string) => {
    const actors = await call<{ actors: Array<{ actorId: string }> }>(
      url,
      'GET',
      `/v1/actors?minPosition=${last}`,
    );
    const views: unknown[] = [actors.body];
    for (const actor of actors.body.actors) {
      views.push((await call(url, 'GET', `/v1/actors/${actor.actorId}`)).body);
      views.push((await call(url, 'GET', `/v1/actors/${actor.actorId}/disputes`)).body);
    }
    views.push((await call(url, 'GET', '/v1/claims?limit=500')).body);
    views.push((await call(url, 'GET', '/v1/audit?limit=500')).body);
    return views;
  };
  const before = await snapshot(live.url);

  const runRebuild = async () => {
    const child = spawn(process.execPath, [cli, 'rebuild', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    return { code, output };
  };
  const refused = await runRebuild();
  t.equal(refused.code, 3, 'ledger rebuild refuses while the ledger runs on the data dir');
  t.match(refused.output, /stop the ledger or projector/);
  t.same(await snapshot(live.url), before, 'and the live read models are untouched');
  t.equal(await live.stop(), 0);

  const { code, output } = await runRebuild();
  t.equal(code, 0, `once it is stopped, ledger rebuild exits 0 ${output}`);
  t.match(output, new RegExp(`up to position ${last}`), 'it reports how far it rebuilt');

  const restarted = await startLedgerProcess(dataDir);
  t.teardown(() => restarted.stop());
  t.same(await snapshot(restarted.url), before, 'every read model answers exactly as before');
});
