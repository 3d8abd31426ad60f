import { createServer } from 'node:net';
import t from 'tap';
import { claimBody } from '../../../test/e2e/fixtures/bodies.js';
import { ADMIN_KEY, call, startServiceProcess } from '../../../test/e2e/fixtures/ledger-process.js';
import { ledger } from './fixtures/ledger-bin.js';

t.test('ledger keys create, list and revoke against a running ledger', async (t) => {
  const dataDir = t.testdir();
  const ingest = await startServiceProcess('ingest', dataDir);
  t.teardown(() => ingest.stop());
  // A second process on the same data dir: a revocation made through the first must hold here at once.
  const other = await startServiceProcess('ingest', dataDir);
  t.teardown(() => other.stop());
  const withKey = ['--url', ingest.url, '--key', ADMIN_KEY];

  const created = await ledger([
    'keys',
    'create',
    '--name',
    'Acme intel',
    '--scope',
    'claims:write',
    '--scope',
    'retractions:write',
    '--party',
    'acme-intel',
    ...withKey,
  ]);
  t.equal(created.code, 0, created.stderr);
  const keyId = /^created key ([0-9a-f]{16}) \(Acme intel\)$/m.exec(created.stdout)?.[1];
  const secret = /^ {2}key {5}(ldg_\S+)$/m.exec(created.stdout)?.[1];
  t.ok(keyId, 'the key id is printed');
  t.ok(secret, 'the secret is printed');
  t.match(created.stdout, /^ {2}scopes {2}claims:write, retractions:write$/m);
  t.match(created.stdout, /^ {2}party {3}acme-intel$/m);
  t.match(created.stderr, /only time the secret key is shown/, 'with a warning');

  const claim = await call(other.url, 'POST', '/v1/claims', { body: claimBody(), key: secret! });
  t.equal(claim.status, 201, 'the new key writes, in the other process too');
  const asAnother = await call(other.url, 'POST', '/v1/claims', {
    body: claimBody({ claimant: { id: 'globex', name: 'Globex', kind: 'vendor' } }),
    key: secret!,
  });
  t.equal(asAnother.status, 403, 'but only as its party');

  const listed = await ledger(['keys', 'list', ...withKey]);
  t.equal(listed.code, 0, listed.stderr);
  const [header, ...rows] = listed.stdout.trimEnd().split('\n');
  t.match(header, /^KEY ID +NAME +SCOPES +PARTY +CREATED +LAST USED$/);
  t.equal(rows.length, 2, 'the admin and the new key');
  t.match(rows[0], /^admin +bootstrap admin +admin +- +\d{4}-\d\d-\d\dT/);
  t.match(rows[1], new RegExp(`^${keyId} +Acme intel +claims:write,retractions:write +acme-intel +\\d{4}-`));
  t.notMatch(listed.stdout, secret!.slice(-20), 'no secret in the list');
  t.notMatch(listed.stdout, ADMIN_KEY.slice(-20));

  const revoked = await ledger(['keys', 'revoke', keyId!, ...withKey]);
  t.equal(revoked.code, 0, revoked.stderr);
  t.match(revoked.stdout, `revoked key ${keyId}`);
  const after = await call(other.url, 'POST', '/v1/claims', { body: claimBody(), key: secret! });
  t.equal(after.status, 401, 'revoked through one process: the other refuses it at once');
  t.equal((await call(ingest.url, 'POST', '/v1/claims', { body: claimBody(), key: secret! })).status, 401);

  const again = await ledger(['keys', 'revoke', keyId!, ...withKey]);
  t.equal(again.code, 1, 'revoking twice fails');
  t.match(again.stderr, /404 Not Found: no active key/);
  t.equal(
    (await ledger(['keys', 'list', ...withKey])).stdout.trimEnd().split('\n').length,
    2,
    'header + admin',
  );

  t.test('URL and key come from HOST, PORT and the environment when not given', async (t) => {
    const { hostname, port } = new URL(ingest.url);
    const at = { HOST: hostname, PORT: port };
    const fromEnv = await ledger(['keys', 'list'], { ...at, LEDGER_ADMIN_KEY: ADMIN_KEY });
    t.equal(fromEnv.code, 0, fromEnv.stderr);

    const cliDir = t.testdir({ 'admin.key': `${ADMIN_KEY}\n` });
    const fromFile = await ledger(['keys', 'list'], { ...at, LEDGER_DATA_DIR: cliDir });
    t.equal(fromFile.code, 0, `admin.key in the data dir: ${fromFile.stderr}`);

    const precedence = await ledger(['keys', 'list'], {
      ...at,
      LEDGER_API_KEY: 'ldg_0000000000000000_nope',
      LEDGER_ADMIN_KEY: ADMIN_KEY,
    });
    t.equal(precedence.code, 1, 'LEDGER_API_KEY comes first, as for demo');
    t.match(precedence.stderr, /401 Unauthorized/);

    const none = await ledger(['keys', 'list'], { ...at, LEDGER_DATA_DIR: t.testdir() });
    t.equal(none.code, 2, 'no key anywhere');
    t.match(none.stderr, /no API key/);
  });

  t.test('a refused request exits 1 and names what was wrong', async (t) => {
    const bad = await ledger(['keys', 'create', '--name', 'x', '--scope', 'root', ...withKey]);
    t.equal(bad.code, 1);
    t.match(bad.stderr, /400 Bad Request: .*body\.scopes\.0/);
    t.equal(bad.stdout, '', 'nothing printed as a result');

    const admin = await ledger(['keys', 'revoke', 'admin', ...withKey]);
    t.equal(admin.code, 1);
    t.match(admin.stderr, /422 .*LEDGER_ADMIN_KEY/);
  });
});

t.test('usage errors exit 2 without contacting any ledger', async (t) => {
  // Nothing listens there: had the command tried a request, it would have exited 1, not 2.
  const nowhere = ['--url', `http://127.0.0.1:${await closedPort()}`, '--key', ADMIN_KEY];
  const cases: [string, string[], RegExp][] = [
    ['no subcommand', ['keys'], /what to do with keys/],
    ['unknown subcommand', ['keys', 'rotate', ...nowhere], /unknown keys command rotate/],
    ['create without --name', ['keys', 'create', '--scope', 'read', ...nowhere], /--name is required/],
    ['create without --scope', ['keys', 'create', '--name', 'x', ...nowhere], /at least one --scope/],
    ['unknown option', ['keys', 'list', '--all', ...nowhere], /Unknown option '--all'/],
    ['revoke without a key id', ['keys', 'revoke', ...nowhere], /exactly one KEYID/],
  ];
  for (const [name, args, message] of cases) {
    const ran = await ledger(args);
    t.equal(ran.code, 2, name);
    t.match(ran.stderr, message, name);
    t.match(ran.stderr, /ledger keys create --name NAME --scope SCOPE/, `${name}: usage printed`);
  }
  const help = await ledger(['help']);
  t.equal(help.code, 0);
  t.match(help.stderr, /ledger keys revoke KEYID/, 'ledger help shows the keys commands');
});

/** A port that nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('an unreachable ledger exits 1 with the URL', async (t) => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const unreachable = await ledger(['keys', 'list', '--url', url, '--key', ADMIN_KEY]);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, `cannot reach the ledger at ${url}`);
});
