import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerClient, runDemo, runRebuild } from '@ledger/cli';
import { createLogger } from '@ledger/config';
import { READ_MODEL_TABLES } from '@ledger/projections';
import Database from 'better-sqlite3';
import t from 'tap';
import { ADMIN_KEY, startLedgerProcess } from '../../../test/e2e/fixtures/ledger-process.js';
import { ledger } from './fixtures/ledger-bin.js';

const withoutCreated = (ndjson: string) =>
  ndjson
    .trimEnd()
    .split('\n')
    .map((line) => {
      // `created` is the importing store's clock, and the seal (`metadata.integrity`) covers it: both differ.
      const { created: _created, metadata, ...rest } = JSON.parse(line) as Record<string, unknown>;
      if (metadata !== undefined) {
        const { integrity: _integrity, ...unsealed } = metadata as Record<string, unknown>;
        return JSON.stringify({ ...rest, metadata: unsealed });
      }
      return JSON.stringify(rest);
    });

/** The audit rows keep each event's metadata as stored, seal included: the copy's seal is its own chain's. */
function withoutSealInRow(row: Record<string, unknown>): Record<string, unknown> {
  if (typeof row.metadata !== 'string') return row;
  const { integrity: _integrity, ...metadata } = JSON.parse(row.metadata) as Record<string, unknown>;
  return { ...row, metadata: JSON.stringify(metadata) };
}

function readModelRows(dataDir: string): Record<string, unknown[]> {
  const db = new Database(join(dataDir, 'read.db'), { readonly: true });
  try {
    return Object.fromEntries(
      READ_MODEL_TABLES.map((table) => [
        table,
        db
          .prepare(`SELECT * FROM ${table} ORDER BY 1, 2`)
          .all()
          .map((row) => withoutSealInRow(row as Record<string, unknown>)),
      ]),
    );
  } finally {
    db.close();
  }
}

t.test('export, import into a fresh dir, export again', async (t) => {
  const base = t.testdir();
  const original = join(base, 'original');
  const ledgerProcess = await startLedgerProcess(original);
  await runDemo(new LedgerClient(ledgerProcess.url, ADMIN_KEY), () => undefined);
  t.equal(await ledgerProcess.stop(), 0);

  const first = join(base, 'export.ndjson');
  const exported = await ledger(['export', '--data-dir', original, '--out', first]);
  t.equal(exported.code, 0, exported.stderr);
  const firstText = readFileSync(first, 'utf8');
  const lines = firstText.trimEnd().split('\n');
  t.ok(lines.length >= 8, `the demo wrote ${lines.length} events`);
  t.match(exported.stderr, new RegExp(`exported ${lines.length} events up to position \\d+`));
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.same(Object.keys(line), [
    'id',
    'streamId',
    'revision',
    'type',
    'data',
    'metadata',
    'position',
    'created',
  ]);
  t.match(line, { revision: '0', type: 'ClaimMade', position: { commit: '1', prepare: '1' } });

  const copy = join(base, 'copy');
  const imported = await ledger(['import', '--data-dir', copy, '--in', first]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, new RegExp(`^imported ${lines.length} events in \\d+ streams into `));
  t.notOk(existsSync(join(copy, 'events.db.importing')), 'no temporary file left');

  const again = await ledger(['export', '--data-dir', copy]);
  t.equal(again.code, 0, again.stderr);
  t.same(
    withoutCreated(again.stdout),
    withoutCreated(firstText),
    'same ids, streams, revisions, positions, data',
  );
  t.not(again.stdout, firstText, '`created` is the importing store’s clock');
  const verified = await ledger(['verify', '--data-dir', copy]);
  t.equal(verified.code, 0, 'the copy carries a hash chain of its own, intact');
  t.match(JSON.parse(verified.stdout), { ok: true, checkedEvents: lines.length });

  const quiet = createLogger({ logLevel: 'silent' }, 'cli');
  await runRebuild(original, quiet, () => undefined, { force: true });
  await runRebuild(copy, quiet, () => undefined, { force: true });
  t.same(
    readModelRows(copy),
    readModelRows(original),
    'read models rebuilt from the copy equal the original’s',
  );

  t.test('an import into a dir that holds events is refused', async (t) => {
    const refused = await ledger(['import', '--data-dir', copy, '--in', first]);
    t.equal(refused.code, 3);
    t.match(refused.stderr, /already holds events.*nothing was imported/);
  });

  t.test('a bad line stops the import and leaves nothing behind', async (t) => {
    const cases: Array<[string, (rows: string[]) => string[], RegExp]> = [
      ['not JSON', (rows) => [...rows.slice(0, 4), '{oops', ...rows.slice(4)], /line 5: not JSON/],
      [
        'an unknown field',
        (rows) => rows.map((row, i) => (i === 2 ? row.replace('{', '{"extra":1,') : row)),
        /line 3: unknown field extra/,
      ],
      [
        'a revision out of order',
        (rows) => rows.map((row, i) => (i === 6 ? row.replace(/"revision":"\d+"/, '"revision":"7"') : row)),
        /line 7: stream \S+ continues at revision \d+, not 7/,
      ],
      [
        'lines out of $all order',
        (rows) => [rows[1]!, rows[0]!, ...rows.slice(2)],
        /line 2: positions must increase/,
      ],
      [
        'an event id used twice',
        (rows) => [
          ...rows,
          JSON.stringify({
            ...JSON.parse(rows[0]!),
            streamId: 'other',
            position: { commit: '999', prepare: '999' },
          }),
        ],
        new RegExp(`line ${lines.length + 1}: the store refused`),
      ],
    ];
    const root = t.testdir();
    for (const [index, [name, corrupt, message]] of cases.entries()) {
      const dir = join(root, String(index));
      mkdirSync(dir);
      const input = join(dir, 'in.ndjson');
      writeFileSync(input, `${corrupt(lines).join('\n')}\n`);
      const ran = await ledger(['import', '--data-dir', join(dir, 'data'), '--in', input]);
      t.equal(ran.code, 1, name);
      t.match(ran.stderr, message, name);
      t.notOk(existsSync(join(dir, 'data', 'events.db')), `${name}: no store created`);
      t.notOk(existsSync(join(dir, 'data', 'events.db.importing')), `${name}: no temporary store left`);
    }
  });
});
