import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_KEY_FILE, StateStore } from '@ledger/http';
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
