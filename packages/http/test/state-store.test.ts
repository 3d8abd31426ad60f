import { join } from 'node:path';
import { canonicalJson, requestHash, STATE_SCHEMA_VERSION, StateStore } from '@ledger/http';
import Database from 'better-sqlite3';
import t from 'tap';

t.test('state.db is created in WAL mode, migrated once, and reopens', async (t) => {
  const path = join(t.testdir(), 'nested', 'state.db');
  StateStore.open(path).close();
  const second = StateStore.open(path);
  second.close();
  second.close();
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('user_version', { simple: true }), STATE_SCHEMA_VERSION);
});

t.test('an in-memory state store works for tests', async (t) => {
  const state = StateStore.open(':memory:');
  t.teardown(() => state.close());
  t.same(state.keys.list(), []);
});

t.test('a database written by a newer version is left alone', async (t) => {
  const path = join(t.testdir(), 'state.db');
  StateStore.open(path).close();
  const db = new Database(path);
  db.pragma(`user_version = ${STATE_SCHEMA_VERSION + 1}`);
  db.close();
  const state = StateStore.open(path);
  t.teardown(() => state.close());
  t.same(state.keys.list(), []);
});

t.test('a file that is not a database fails to open and is released', async (t) => {
  const dir = t.testdir({ 'state.db': 'not a database, just text that is long enough to be a header...' });
  t.throws(() => StateStore.open(join(dir, 'state.db')));
});

t.test('canonical JSON sorts keys at every depth', async (t) => {
  t.equal(
    canonicalJson({ b: 1, a: [{ d: 2, c: 3 }, null], e: undefined }),
    '{"a":[{"c":3,"d":2},null],"b":1}',
  );
  t.equal(canonicalJson([undefined]), '[null]');
  t.equal(canonicalJson(undefined), 'null');
  t.equal(canonicalJson('x'), '"x"');
  t.equal(requestHash({ a: 1, b: 2 }), requestHash({ b: 2, a: 1 }));
  t.not(requestHash({ a: 1 }), requestHash({ a: '1' }));
  t.match(requestHash({}), /^[0-9a-f]{64}$/);
});
