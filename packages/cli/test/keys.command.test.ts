import { createServer } from 'node:http';
import { join } from 'node:path';
import { formatKeyTable, type KeysCommandIo, runKeys } from '@ledger/cli';
import { createLogger } from '@ledger/config';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { StateStore } from '@ledger/http';
import { buildIngestApp } from '@ledger/ingest';
import t, { type Test } from 'tap';

const ADMIN_KEY = 'cli-keys-admin-key-0123456789abcdefghijklmnopq';

/** The ingest app (which serves the admin routes) listening on a free port, on a temp data dir. */
async function startIngest(t: Test) {
  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
  const state = StateStore.open(join(dir, 'state.db'), { scryptCost: 1024 });
  await state.keys.ensureBootstrapAdmin({ adminKey: ADMIN_KEY, dataDir: dir });
  const app = await buildIngestApp({
    store,
    state,
    config: { idempotencyTtlMs: 60_000, rateLimit: 1000 },
    logger: createLogger({ logLevel: 'silent' }, 'ingest'),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await app.close();
    await store.close();
    state.close();
  });
  return { url, state };
}

/** Captures what a command prints; `defaults` counts its calls. */
function capture(defaults: { url: string; key: string | undefined }) {
  const out: string[] = [];
  const err: string[] = [];
  let defaultsRead = 0;
  const io: KeysCommandIo = {
    print: (line) => out.push(line),
    warn: (line) => err.push(line),
    defaults: () => {
      defaultsRead += 1;
      return defaults;
    },
  };
  return { io, out, err, defaultsRead: () => defaultsRead };
}

t.test('create, list, revoke through the admin API', async (t) => {
  const { url, state } = await startIngest(t);
  const run = async (args: string[]) => {
    const c = capture({ url, key: ADMIN_KEY });
    const code = await runKeys(args, c.io);
    return { code, ...c };
  };

  const created = await run([
    'create',
    '--name',
    'msrc',
    '--scope',
    'claims:write,read',
    '--party',
    'microsoft',
  ]);
  t.equal(created.code, 0, created.err.join('\n'));
  t.equal(created.defaultsRead(), 1, 'URL and key from the defaults');
  const keyId = /^created key ([0-9a-f]{16}) \(msrc\)$/.exec(created.out[0]!)?.[1];
  t.ok(keyId);
  t.same(created.out.slice(1, 3), ['  scopes  claims:write, read', '  party   microsoft']);
  const secret = /^ {2}key {5}(\S+)$/.exec(created.out[3]!)?.[1];
  t.match(await state.keys.verify(secret!), { keyId, scopes: ['claims:write', 'read'], party: 'microsoft' });
  t.match(created.err.join('\n'), /only time the secret key is shown.*ledger keys revoke/);

  const unbound = await run(['create', '--name', 'reader', '--scope', 'read']);
  t.equal(unbound.code, 0);
  t.notMatch(unbound.out.join('\n'), /party/, 'no party line for an unbound key');

  const listed = await run(['list']);
  t.equal(listed.code, 0);
  t.equal(listed.out.length, 4, 'header, admin and two keys');
  t.match(listed.out[0], /^KEY ID +NAME +SCOPES +PARTY +CREATED +LAST USED$/);
  t.match(listed.out[2], new RegExp(`^${keyId} +msrc +claims:write,read +microsoft +20`));
  t.notMatch(listed.out.join('\n'), secret!.slice(-20));

  const revoked = await run(['revoke', keyId!]);
  t.equal(revoked.code, 0);
  t.same(revoked.out, [`revoked key ${keyId}: it gets 401 from now on`]);
  t.equal(await state.keys.verify(secret!), undefined, 'revoked at once');

  const twice = await run(['revoke', keyId!]);
  t.equal(twice.code, 1);
  t.match(twice.err[0], `ledger keys revoke: 404 Not Found: no active key ${keyId}`);

  const invalid = await run(['create', '--name', ' ', '--scope', 'read,root', '--party', 'Not A Party']);
  t.equal(invalid.code, 1);
  t.match(invalid.err[0], /^ledger keys create: 400 Bad Request: .*body\.name.*body\.scopes\.1.*body\.party/);
});

t.test('--url and --key win, and then the defaults are not read', async (t) => {
  const { url } = await startIngest(t);
  const c = capture({ url: 'http://127.0.0.1:1', key: 'wrong' });
  t.equal(await runKeys(['list', '--url', url, '--key', ADMIN_KEY], c.io), 0);
  t.equal(c.defaultsRead(), 0);

  const keyOnly = capture({ url, key: undefined });
  t.equal(await runKeys(['list', '--key', ADMIN_KEY], keyOnly.io), 0, 'the URL from the defaults');
});

t.test('a key without the admin scope is refused with a hint', async (t) => {
  const { url, state } = await startIngest(t);
  const { key } = await state.keys.create({ name: 'writer', scopes: ['claims:write'] });
  const c = capture({ url, key });
  t.equal(await runKeys(['list'], c.io), 1);
  t.match(c.err, [/403 Forbidden: key [0-9a-f]+ lacks the scope admin/, /needs a key with the admin scope/]);
});

t.test('no key anywhere is a usage error', async (t) => {
  const c = capture({ url: 'http://127.0.0.1:1', key: undefined });
  t.equal(await runKeys(['list'], c.io), 2);
  t.match(c.err[0], /no API key: pass --key/);
});

t.test('bad command lines exit 2 with the usage', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /what to do with keys\?/],
    [['rotate'], /unknown keys command rotate/],
    [['create', '--scope', 'read'], /--name is required/],
    [['create', '--name', 'x'], /at least one --scope/],
    [['create', '--name', 'x', '--scope', ','], /at least one --scope/],
    [['create', '--name', 'x', '--scope', 'read', 'extra'], /unexpected argument extra/],
    [['create', '--name'], /argument missing|--name/],
    [['list', 'extra'], /Unexpected argument 'extra'/],
    [['list', '--all'], /Unknown option '--all'/],
    [['revoke'], /exactly one KEYID/],
    [['revoke', 'a', 'b'], /exactly one KEYID/],
  ];
  for (const [args, message] of cases) {
    const c = capture({ url: 'http://127.0.0.1:1', key: ADMIN_KEY });
    t.equal(await runKeys(args, c.io), 2, args.join(' '));
    t.match(c.err[0], message, args.join(' '));
    t.match(c.err[1], /^usage:\n {2}ledger keys create/, 'usage follows');
    t.equal(c.defaultsRead(), 0, 'nothing was looked up');
  }
});

t.test('an unreachable or foreign server exits 1 and says where', async (t) => {
  const unreachable = capture({ url: 'http://127.0.0.1:1', key: ADMIN_KEY });
  t.equal(await runKeys(['list'], unreachable.io), 1);
  t.match(
    unreachable.err[0],
    /^ledger keys list: cannot reach the ledger at http:\/\/127\.0\.0\.1:1: fetch failed/,
  );

  const badUrl = capture({ url: 'not a url', key: ADMIN_KEY });
  t.equal(await runKeys(['list'], badUrl.io), 1);
  t.match(badUrl.err[0], /cannot reach the ledger at not a url/);

  // Something else on the port (a proxy, another program): an error page that is not problem+json.
  const foreign = createServer((_request, response) => {
    response.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => foreign.close(resolve)));
  const { port } = foreign.address() as { port: number };
  const c = capture({ url: `http://127.0.0.1:${port}`, key: ADMIN_KEY });
  t.equal(await runKeys(['revoke', 'abc'], c.io), 1);
  t.match(c.err[0], 'ledger keys revoke: 502 Bad Gateway: <h1>Bad Gateway</h1>');
});

t.test('formatKeyTable', async (t) => {
  t.same(formatKeyTable([]), ['KEY ID  NAME  SCOPES  PARTY  CREATED  LAST USED'], 'a header alone');
  const lines = formatKeyTable([
    {
      keyId: 'admin',
      name: 'bootstrap admin',
      scopes: ['admin'],
      createdAt: '2026-11-26T10:00:00.000Z',
      lastUsedAt: '2026-11-26T10:05:00.000Z',
    },
    {
      keyId: '0123456789abcdef',
      name: 'evil\u001b[2Jname\nnext',
      scopes: ['denials:write', 'read'],
      party: 'prc-mfa',
      createdAt: '2026-11-26T10:01:00.000Z',
    },
  ]);
  t.same(lines, [
    'KEY ID            NAME               SCOPES              PARTY    CREATED                   LAST USED',
    'admin             bootstrap admin    admin               -        2026-11-26T10:00:00.000Z  2026-11-26T10:05:00.000Z',
    '0123456789abcdef  evil?[2Jname?next  denials:write,read  prc-mfa  2026-11-26T10:01:00.000Z  -',
  ]);
});
