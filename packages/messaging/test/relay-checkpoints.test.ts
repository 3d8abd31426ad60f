import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelayCheckpoints } from '@ledger/messaging';
import Database from 'better-sqlite3';
import t from 'tap';

t.test('the checkpoint survives reopening, with 64-bit positions intact', async (t) => {
  const path = join(t.testdir(), 'relay.db');
  const first = RelayCheckpoints.open(path);
  t.equal(first.read('kafka'), undefined, 'a relay that never ran has no row');
  t.ok(first.acquire('kafka', 'relay-a', 15_000));
  t.same(first.read('kafka')?.position, undefined, 'holding the lease is not a checkpoint');
  const position = { commit: 18_446_744_073_709_551_000n, prepare: 18_446_744_073_709_550_000n };
  t.ok(first.save('kafka', 'relay-a', position));
  first.close();
  const again = RelayCheckpoints.open(path);
  t.same(again.read('kafka')?.position, position);
  again.close();
});

t.test('the lease: one holder at a time, taken over when released or stale', async (t) => {
  const path = join(t.testdir(), 'relay.db');
  const a = RelayCheckpoints.open(path);
  const b = RelayCheckpoints.open(path);
  const now = 1_000_000;
  t.ok(a.acquire('kafka', 'relay-a', 15_000, now));
  t.notOk(b.acquire('kafka', 'relay-b', 15_000, now + 1_000), 'held and fresh: refused');
  t.ok(a.acquire('kafka', 'relay-a', 15_000, now + 2_000), 'the holder refreshes it');
  t.notOk(b.save('kafka', 'relay-b', { commit: 5n, prepare: 5n }), 'a non-holder cannot move the checkpoint');
  t.equal(b.read('kafka')?.position, undefined);
  t.ok(b.acquire('kafka', 'relay-b', 15_000, now + 17_001), 'stale (no heartbeat for 15 s): taken over');
  t.notOk(a.save('kafka', 'relay-a', { commit: 7n, prepare: 7n }), 'the old holder finds out when it saves');
  t.equal(a.read('kafka')?.holder, 'relay-b');
  a.release('kafka', 'relay-a');
  t.equal(a.read('kafka')?.holder, 'relay-b', 'releasing a lease one does not hold changes nothing');
  b.release('kafka', 'relay-b');
  t.ok(a.acquire('kafka', 'relay-a', 15_000, now + 17_002), 'released: free at once');
  t.ok(b.acquire('other', 'relay-b', 15_000, now), 'relays of other names do not compete');
  a.close();
  b.close();
});

t.test('opening a file that is not SQLite fails and leaves nothing open', async (t) => {
  const dir = t.testdir({
    'relay.db': 'not a database, just text that is long enough to be read as a header',
  });
  t.throws(() => RelayCheckpoints.open(join(dir, 'relay.db')));
});

t.test('a file from a newer build is refused; many openers at once migrate it once', async (t) => {
  const dir = t.testdir();
  const newer = join(dir, 'newer.db');
  RelayCheckpoints.open(newer).close();
  const raw = new Database(newer);
  raw.pragma('user_version = 99');
  raw.close();
  t.throws(() => RelayCheckpoints.open(newer), /version 99 is newer/);

  // Opened from child processes at the same moment, as a relay and the test poller did when this raced.
  const path = join(dir, 'shared.db');
  const opener = `import { RelayCheckpoints } from '@ledger/messaging'; RelayCheckpoints.open(${JSON.stringify(path)}).close();`;
  const results = await Promise.all(
    Array.from(
      { length: 6 },
      () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', opener], {
            cwd: fileURLToPath(new URL('..', import.meta.url)),
            stdio: 'ignore',
          });
          child.once('exit', resolve);
        }),
    ),
  );
  t.same(results, [0, 0, 0, 0, 0, 0], 'every opener succeeded');
  t.equal(RelayCheckpoints.open(path).read('kafka'), undefined);
});
