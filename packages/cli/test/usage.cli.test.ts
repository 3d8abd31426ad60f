import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import t from 'tap';
import { ledger } from './fixtures/ledger-bin.js';

t.test('help and unknown commands', async (t) => {
  for (const args of [[], ['help'], ['--help']]) {
    t.match(await ledger(args), { code: 0, stderr: /usage:\n {2}ledger demo/ }, `ledger ${args.join(' ')}`);
  }
  t.match(await ledger(['bogus']), { code: 2, stderr: /usage:/ });
});

t.test('subscribe refuses a missing topic, a bad --from, and having no key', async (t) => {
  const dir = t.testdir();
  t.match(await ledger(['subscribe']), { code: 2, stderr: /usage:/ });
  t.match(await ledger(['subscribe', 'denials', 'claims']), { code: 2, stderr: /usage:/ });
  t.match(await ledger(['subscribe', 'denials', '--from', 'x']), { code: 2, stderr: /usage:/ });
  t.match(await ledger(['subscribe', 'denials'], { LEDGER_DATA_DIR: dir }), {
    code: 2,
    stderr: /no API key/,
  });
});

t.test('demo against a given URL needs a key', async (t) => {
  const dir = t.testdir();
  t.match(await ledger(['demo', '--url', 'http://127.0.0.1:1'], { LEDGER_DATA_DIR: dir }), {
    code: 2,
    stderr: /no API key/,
  });
});

t.test('export and verify refuse a data dir with no store; export writes to a file', async (t) => {
  const empty = join(t.testdir(), 'empty');
  t.match(await ledger(['export', '--data-dir', empty]), { code: 2, stderr: /no event store at/ });
  t.match(await ledger(['verify', '--data-dir', empty]), { code: 2, stderr: /no event store at/ });

  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
  await store.appendToStream('s-1', [{ type: 'Counted', data: { n: 1 } }]);
  await store.close();
  const out = join(dir, 'export.ndjson');
  t.match(await ledger(['export', '--data-dir', dir, '--out', out]), {
    code: 0,
    stdout: '',
    stderr: /exported 1 events up to position 1/,
  });
  t.match(JSON.parse(readFileSync(out, 'utf8')), { streamId: 's-1', type: 'Counted', data: { n: 1 } });
  t.match(await ledger(['export'], { LEDGER_DATA_DIR: dir }), { code: 0, stdout: /"streamId":"s-1"/ });
});

t.test('import reports a bad line and imports nothing', async (t) => {
  const dir = t.testdir({ 'bad.ndjson': '{"not":"an event"}\n' });
  t.match(await ledger(['import', '--data-dir', join(dir, 'target'), '--in', join(dir, 'bad.ndjson')]), {
    code: 1,
    stderr: /ledger import: line 1: unknown field not; nothing was imported/,
  });
});
