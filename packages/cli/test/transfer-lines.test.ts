import { join } from 'node:path';
import { exportEvents, importEvents, lastPositionOf, lineToEvent, TransferError } from '@ledger/cli';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import t from 'tap';

const good = {
  id: '0190c1a2-0000-7000-8000-000000000001',
  streamId: 'claim-1',
  revision: '0',
  type: 'ClaimMade',
  data: { claimId: '1' },
  metadata: { recordedAt: '2024-01-01T00:00:00.000Z' },
  position: { commit: '1', prepare: '1' },
  created: '2024-01-01T00:00:00.000Z',
};

t.test('a valid line reads back as the event; metadata only when the line has it', async (t) => {
  t.same(lineToEvent(JSON.stringify(good), 1), good);
  const { metadata: _metadata, ...bare } = good;
  t.notOk('metadata' in lineToEvent(JSON.stringify(bare), 2));
  t.same(lineToEvent(JSON.stringify({ ...good, metadata: null }), 3).metadata, null, 'JSON null is kept');
});

t.test('every kind of bad line is refused with its line number and what is wrong', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"id":', /not JSON/],
    ['an array', '[1,2]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['a number', '42', /not a JSON object/],
    ['an unknown field', JSON.stringify({ ...good, extra: 1 }), /unknown field extra/],
    ['an empty id', JSON.stringify({ ...good, id: '' }), /id must be a non-empty string/],
    ['a numeric stream id', JSON.stringify({ ...good, streamId: 7 }), /streamId must be a non-empty string/],
    ['a revision as a number', JSON.stringify({ ...good, revision: 0 }), /revision must be a decimal string/],
    ['a negative revision', JSON.stringify({ ...good, revision: '-1' }), /revision must be a decimal string/],
    ['no data', JSON.stringify({ ...good, data: undefined }), /data is missing/],
    [
      'no position',
      JSON.stringify({ ...good, position: undefined }),
      /position must be \{ commit, prepare \}/,
    ],
    ['a position that is null', JSON.stringify({ ...good, position: null }), /position must be/],
    [
      'a bad commit',
      JSON.stringify({ ...good, position: { commit: 'x', prepare: '1' } }),
      /position\.commit/,
    ],
    ['a bad prepare', JSON.stringify({ ...good, position: { commit: '1' } }), /position\.prepare/],
    ['no created', JSON.stringify({ ...good, created: undefined }), /created must be a non-empty string/],
    [
      'a created that is no date',
      JSON.stringify({ ...good, created: 'yesterday' }),
      /created must be a date-time/,
    ],
  ];
  for (const [name, line, message] of cases) {
    const error = t.throws(() => lineToEvent(line, 7), name) as TransferError;
    t.ok(error instanceof TransferError, `${name}: a TransferError`);
    t.match(error, { code: 'bad-line', line: 7, message }, name);
  }
});

t.test('progress: export reports each position against the last one, import each line read', async (t) => {
  const dir = t.testdir({ copy: {} });
  const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
  t.teardown(() => store.close());
  t.equal(await lastPositionOf(store), 0n, 'an empty store: 0');
  for (let i = 0; i < 3; i += 1) await store.appendToStream(`s-${i % 2}`, [{ type: 'A', data: { i } }]);
  t.equal(await lastPositionOf(store), 3n, 'contiguous on SQLite: the number of events');
  const positions: bigint[] = [];
  const lines: string[] = [];
  await exportEvents(
    store,
    (chunk) => void lines.push(chunk.trimEnd()),
    (position) => positions.push(position),
  );
  t.same(positions, [1n, 2n, 3n]);
  const read: number[] = [];
  const result = await importEvents(
    join(dir, 'copy'),
    (async function* () {
      yield lines[0]!;
      yield '';
      yield* lines.slice(1);
    })(),
    (count) => read.push(count),
  );
  t.same(result, { events: 3, streams: 2 });
  t.same(read, [1, 2, 3, 4], 'blank lines count as read');
});
