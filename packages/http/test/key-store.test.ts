import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_KEY_FILE, StateStore } from '@ledger/http';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { manualClock, TEST_SCRYPT_COST } from './fixtures/helpers.js';

function open(t: Test, dir = t.testdir()) {
  const clock = manualClock();
  const state = StateStore.open(join(dir, 'state.db'), { clock: clock.now, scryptCost: TEST_SCRYPT_COST });
  t.teardown(() => state.close());
  return { state, keys: state.keys, clock, dir };
}

t.test('created keys verify, list without secrets, and revoke at once', async (t) => {
  const { keys, clock } = open(t);
  const created = await keys.create({
    name: ' msrc ingest ',
    scopes: ['claims:write', 'claims:write'],
    party: 'microsoft',
  });
  t.match(created, {
    name: 'msrc ingest',
    scopes: ['claims:write'],
    party: 'microsoft',
    createdAt: '2026-11-26T10:00:00.000Z',
  });
  t.match(created.key, new RegExp(`^ldg_${created.keyId}_[A-Za-z0-9_-]{43}$`));
  const unbound = await keys.create({ name: 'reader', scopes: ['read'] });
  t.notOk('party' in unbound);

  t.same(await keys.verify(created.key), {
    keyId: created.keyId,
    name: 'msrc ingest',
    scopes: ['claims:write'],
    party: 'microsoft',
  });
  t.same(await keys.verify(created.key), await keys.verify(created.key), 'cached result is the same');
  t.equal(await keys.verify(`${created.key}x`), undefined, 'wrong secret');
  t.equal(await keys.verify('ldg_0000000000000000_abc'), undefined, 'unknown key id');
  t.equal(await keys.verify('garbage'), undefined, 'no admin yet');

  const listed = keys.list();
  t.same(listed.map((k) => k.keyId).sort(), [created.keyId, unbound.keyId].sort());
  t.notMatch(JSON.stringify(listed), created.key.split('_')[2]!, 'never a secret');
  t.equal(listed.find((k) => k.keyId === created.keyId)?.lastUsedAt, '2026-11-26T10:00:00.000Z');
  t.notOk('lastUsedAt' in listed.find((k) => k.keyId === unbound.keyId)!);

  t.test('lastUsedAt is written at most once a minute', async (t) => {
    clock.advance(30_000);
    await keys.verify(created.key);
    t.equal(keys.list().find((k) => k.keyId === created.keyId)?.lastUsedAt, '2026-11-26T10:00:00.000Z');
    clock.advance(30_000);
    await keys.verify(created.key);
    t.equal(keys.list().find((k) => k.keyId === created.keyId)?.lastUsedAt, '2026-11-26T10:01:00.000Z');
  });

  t.test('revocation', async (t) => {
    t.equal(keys.revoke(created.keyId), true);
    t.equal(keys.revoke(created.keyId), false, 'already revoked');
    t.equal(keys.revoke('nope'), false);
    t.equal(await keys.verify(created.key), undefined);
    t.same(
      keys.list().map((k) => k.keyId),
      [unbound.keyId],
    );
  });
});

t.test('a revocation by another process reaches a cached key at once', async (t) => {
  const dir = t.testdir();
  const { keys } = open(t, dir);
  const other = open(t, dir).keys;
  const created = await keys.create({ name: 'k', scopes: ['read'] });
  t.ok(await keys.verify(created.key));
  other.revoke(created.keyId);
  t.equal(await keys.verify(created.key), undefined);
});

t.test('create refuses what the admin route would refuse', async (t) => {
  const { keys } = open(t);
  await t.rejects(keys.create({ name: 'k', scopes: [] }));
  await t.rejects(keys.create({ name: 'k', scopes: ['root' as 'read'] }));
  await t.rejects(keys.create({ name: 'k', scopes: ['read'], party: 'Not A Slug' }));
});

t.test('the bootstrap admin', async (t) => {
  t.test('is generated once, kept mode 0600, and returned only then', async (t) => {
    const { keys, dir } = open(t);
    const dataDir = join(dir, 'data');
    const first = await keys.ensureBootstrapAdmin({ dataDir });
    t.equal(first.keyId, 'admin');
    t.match(first.key, /^ldg_admin_[A-Za-z0-9_-]{43}$/);
    const file = join(dataDir, ADMIN_KEY_FILE);
    t.equal(statSync(file).mode & 0o777, 0o600);
    t.equal(readFileSync(file, 'utf8').trim(), first.key);
    t.same(await keys.verify(first.key!), { keyId: 'admin', name: 'bootstrap admin', scopes: ['admin'] });

    const again = await keys.ensureBootstrapAdmin({ dataDir });
    t.same(again, { keyId: 'admin' }, 'not shown twice');
    t.ok(await keys.verify(first.key!), 'the kept key still works');
  });

  t.test('a kept admin.key is installed into a fresh state.db', async (t) => {
    const { keys, dir } = open(t);
    writeFileSync(join(dir, ADMIN_KEY_FILE), 'ldg_admin_keptkeptkeptkeptkeptkeptkeptkept\n', { mode: 0o600 });
    t.same(await keys.ensureBootstrapAdmin({ dataDir: dir }), { keyId: 'admin' });
    t.ok(await keys.verify('ldg_admin_keptkeptkeptkeptkeptkeptkeptkept'));
  });

  t.test('an empty admin.key is replaced by a new key', async (t) => {
    const { keys, dir } = open(t);
    writeFileSync(join(dir, ADMIN_KEY_FILE), '\n');
    const { key } = await keys.ensureBootstrapAdmin({ dataDir: dir });
    t.ok(key);
    t.equal(statSync(join(dir, ADMIN_KEY_FILE)).mode & 0o777, 0o600);
  });

  t.test('services starting together on one data dir agree on one admin key', async (t) => {
    const dir = t.testdir();
    const services = [open(t, dir), open(t, dir), open(t, dir)];
    const started = await Promise.all(
      services.map(({ keys }) => keys.ensureBootstrapAdmin({ dataDir: dir })),
    );
    const shown = started.filter((result) => result.key !== undefined);
    t.equal(shown.length, 1, 'one of them generated the key and shows it');
    t.equal(readFileSync(join(dir, ADMIN_KEY_FILE), 'utf8').trim(), shown[0]!.key, 'the file holds that key');
    for (const { keys } of services) {
      t.match(await keys.verify(shown[0]!.key!), { keyId: 'admin' }, 'and it is the admin key for all');
    }
  });

  t.test('an unreadable admin.key is an error, not a new key', async (t) => {
    const { keys, dir } = open(t);
    mkdirSync(join(dir, ADMIN_KEY_FILE));
    await t.rejects(keys.ensureBootstrapAdmin({ dataDir: dir }), { code: 'EISDIR' });
  });

  t.test('LEDGER_ADMIN_KEY replaces the admin key and writes no file', async (t) => {
    const { keys, dir } = open(t);
    const generated = await keys.ensureBootstrapAdmin({ dataDir: dir });
    const adminKey = 'an-operator-chosen-admin-key-of-32+chars';
    t.same(await keys.ensureBootstrapAdmin({ adminKey, dataDir: dir }), { keyId: 'admin' });
    t.match(await keys.verify(adminKey), { keyId: 'admin', scopes: ['admin'] });
    t.equal(await keys.verify(generated.key!), undefined, 'the generated key no longer works');
    t.same(await keys.ensureBootstrapAdmin({ adminKey, dataDir: dir }), { keyId: 'admin' }, 'idempotent');
  });

  t.test('a revoked admin stays revoked until its key changes', async (t) => {
    const { keys, dir } = open(t);
    const adminKey = 'x'.repeat(40);
    await keys.ensureBootstrapAdmin({ adminKey, dataDir: dir });
    keys.revoke('admin');
    await keys.ensureBootstrapAdmin({ adminKey, dataDir: dir });
    t.equal(await keys.verify(adminKey), undefined);
    await keys.ensureBootstrapAdmin({ adminKey: 'y'.repeat(40), dataDir: dir });
    t.ok(await keys.verify('y'.repeat(40)));
  });

  t.test('a short or misleading LEDGER_ADMIN_KEY is a ConfigError naming it', async (t) => {
    const { keys, dir } = open(t);
    await t.rejects(keys.ensureBootstrapAdmin({ adminKey: 'short', dataDir: dir }), {
      name: 'ConfigError',
      message: /LEDGER_ADMIN_KEY/,
    });
    await t.rejects(
      keys.ensureBootstrapAdmin({ adminKey: 'ldg_0123456789abcdef_secretsecretsecretsecret', dataDir: dir }),
      { name: 'ConfigError' },
    );
    t.notMatch(JSON.stringify(keys.list()), 'short');
  });
});

t.test('tokens that cannot be a live key cost no scrypt', async (t) => {
  // A fast stand-in for scrypt that counts its calls: the key store's code runs unchanged around it.
  const crypto = await import('node:crypto');
  let scrypts = 0;
  const fakeScrypt = (
    password: string,
    salt: Buffer,
    keylen: number,
    _options: unknown,
    callback: (error: Error | null, key: Buffer) => void,
  ) => {
    scrypts += 1;
    const key = crypto.createHash('sha512').update(salt).update(password).digest().subarray(0, keylen);
    setImmediate(() => callback(null, key));
  };
  const { StateStore: CountingStateStore } = await t.mockImport<typeof import('@ledger/http')>(
    '@ledger/http',
    {
      'node:crypto': { ...crypto, scrypt: fakeScrypt },
    },
  );
  const counted = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const before = scrypts;
    const result = await work();
    return [result, scrypts - before];
  };
  const dir = t.testdir();
  const clock = manualClock();
  const state = CountingStateStore.open(join(dir, 'state.db'), {
    clock: clock.now,
    scryptCost: TEST_SCRYPT_COST,
  });
  t.teardown(() => state.close());
  const keys = state.keys;
  const { key: adminKey } = await keys.ensureBootstrapAdmin({ dataDir: dir });
  const created = await keys.create({ name: 'k', scopes: ['read'] });

  t.test('malformed tokens and unknown key ids are refused without scrypt', async (t) => {
    const bogus = [
      'garbage',
      'x'.repeat(64),
      `Basic ${'y'.repeat(40)}`,
      'ldg_0000000000000000_abc',
      'ldg_nokeylikethis_abcdefabcdefabcdefabcdefabcdefabcdefabcdefabc',
      'ldg__secret',
      `ldg_${created.keyId}`,
    ];
    for (const token of bogus) t.same(await counted(() => keys.verify(token)), [undefined, 0], token);
  });

  t.test(
    'a wrong secret for a real key costs one scrypt, then none while the key is unchanged',
    async (t) => {
      const wrong = `${created.key}x`;
      t.same(await counted(() => keys.verify(wrong)), [undefined, 1]);
      t.same(await counted(() => keys.verify(wrong)), [undefined, 0], 'remembered');
      t.same(await counted(() => keys.verify(`ldg_admin_${'z'.repeat(43)}`)), [undefined, 1]);
      t.same(await counted(() => keys.verify(`ldg_admin_${'z'.repeat(43)}`)), [undefined, 0]);
      clock.advance(60_001);
      t.same(await counted(() => keys.verify(wrong)), [undefined, 1], 'forgotten after a minute');
      const [principal, cost] = await counted(() => keys.verify(created.key));
      t.match(principal, { keyId: created.keyId });
      t.equal(cost, 1, 'the right secret is still checked');
    },
  );

  t.test('a remembered failure does not outlive a replaced admin key', async (t) => {
    const chosen = 'an-operator-chosen-admin-key-of-32+chars';
    t.same(
      await counted(() => keys.verify(chosen)),
      [undefined, 0],
      'the admin key is ldg-shaped: no scrypt',
    );
    await keys.ensureBootstrapAdmin({ adminKey: `${chosen}!`, dataDir: dir });
    t.same(
      await counted(() => keys.verify(chosen)),
      [undefined, 1],
      'free-form admin: long tokens are checked',
    );
    t.same(await counted(() => keys.verify(chosen)), [undefined, 0]);
    t.same(await counted(() => keys.verify('short-free-form')), [undefined, 0], 'shorter than any admin key');
    await keys.ensureBootstrapAdmin({ adminKey: chosen, dataDir: dir });
    const [principal, cost] = await counted(() => keys.verify(chosen));
    t.match(principal, { keyId: 'admin' }, 'the failure was tied to the old hash');
    t.equal(cost, 1);
    t.equal(await keys.verify(adminKey!), undefined, 'the generated key no longer works');
  });

  t.test('a revoked key fails at once, even after failing before', async (t) => {
    const other = await keys.create({ name: 'other', scopes: ['read'] });
    t.ok(await keys.verify(other.key));
    t.equal(await keys.verify(`${other.key}x`), undefined);
    keys.revoke(other.keyId);
    t.same(await counted(() => keys.verify(other.key)), [undefined, 0]);
    t.same(await counted(() => keys.verify(`${other.key}x`)), [undefined, 0]);
  });

  t.test('concurrent checks of one token share one scrypt', async (t) => {
    const fresh = await keys.create({ name: 'herd', scopes: ['read'] });
    const [results, ran] = await counted(() =>
      Promise.all(Array.from({ length: 64 }, () => keys.verify(fresh.key))),
    );
    t.equal(ran, 1, '64 concurrent requests with a key not yet cached: one scrypt');
    t.ok(
      results.every((principal) => principal?.keyId === fresh.keyId),
      'every request is authenticated',
    );
    const [wrong, ranWrong] = await counted(() =>
      Promise.all(Array.from({ length: 8 }, () => keys.verify(`${fresh.key}x`))),
    );
    t.equal(ranWrong, 1);
    t.ok(
      wrong.every((principal) => principal === undefined),
      'and every one refused alike',
    );
  });

  t.test('a request that joined a check running across a revocation is refused', async (t) => {
    const joined = await keys.create({ name: 'joined', scopes: ['read'] });
    const first = keys.verify(joined.key);
    keys.revoke(joined.keyId);
    const second = keys.verify(joined.key);
    t.same(await Promise.all([first, second]), [undefined, undefined]);
  });

  t.test('remembered failures are bounded', async (t) => {
    for (let i = 0; i < 10_001; i += 1) await keys.verify(`${created.key}${i}`);
    t.same(await counted(() => keys.verify(`${created.key}10000`)), [undefined, 0], 'the newest is kept');
    t.same(await counted(() => keys.verify(`${created.key}0`)), [undefined, 1], 'the oldest was dropped');
  });
});

t.test('an admin installed before state.db knew free-form keys keeps working, and is settled', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'state.db');
  const chosen = 'an-operator-chosen-admin-key-of-32+chars';
  const first = StateStore.open(path, { scryptCost: TEST_SCRYPT_COST });
  await first.keys.ensureBootstrapAdmin({ adminKey: chosen, dataDir: dir });
  const generated = await first.keys.create({ name: 'k', scopes: ['read'] });
  first.close();
  // Back to schema version 1, as the previous release left it.
  const db = new Database(path);
  db.exec('ALTER TABLE api_keys DROP COLUMN free_form');
  db.pragma('user_version = 1');
  db.close();
  const flags = () => {
    const read = new Database(path, { readonly: true });
    try {
      const rows = read.prepare('SELECT key_id, free_form FROM api_keys').all() as {
        key_id: string;
        free_form: number;
      }[];
      return Object.fromEntries(rows.map((row) => [row.key_id, row.free_form]));
    } finally {
      read.close();
    }
  };

  const { keys } = open(t, dir);
  t.same(flags(), { admin: 1, [generated.keyId]: 0 });
  t.match(await keys.verify(chosen), { keyId: 'admin' }, 'the free-form admin key still works');
  t.ok(await keys.verify(generated.key));

  t.test('ensureBootstrapAdmin settles the flag from the key it is given', async (t) => {
    const kept = 'ldg_admin_keptkeptkeptkeptkeptkeptkeptkept';
    await keys.ensureBootstrapAdmin({ adminKey: kept, dataDir: dir });
    t.equal(flags().admin, 0);
    const db = new Database(path);
    db.prepare("UPDATE api_keys SET free_form = 1 WHERE key_id = 'admin'").run();
    db.close();
    await keys.ensureBootstrapAdmin({ adminKey: kept, dataDir: dir });
    t.equal(flags().admin, 0, 'also when the key is unchanged');
    t.equal(await keys.verify(chosen), undefined);
  });
});
