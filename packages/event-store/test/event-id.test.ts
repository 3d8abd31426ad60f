import { uuidV7 } from '@ledger/event-store';
import t from 'tap';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('uuidV7: RFC 9562 version 7, the time in the first 48 bits, the rest random', async (t) => {
  const at = Date.parse('2026-11-26T16:30:00.123Z');
  const ids = Array.from({ length: 2000 }, () => uuidV7(at));
  for (const id of ids.slice(0, 50)) t.match(id, UUID_V7);
  t.ok(
    ids.every((id) => UUID_V7.test(id)),
    'every one is a v7 with the RFC variant',
  );
  t.ok(
    ids.every((id) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16) === at),
    'unix_ts_ms',
  );
  t.equal(new Set(ids).size, ids.length, 'all different');
  for (const digit of [15, 16, 17, 20, 35]) {
    t.ok(new Set(ids.map((id) => id[digit])).size >= 15, `hex digit ${digit} varies`);
  }
  t.equal(new Set(ids.map((id) => id[19])).size, 4, 'the variant digit takes its four values: 8, 9, a, b');
});

t.test('uuidV7 ids made later sort after earlier ones', async (t) => {
  const earlier = uuidV7(Date.parse('2020-09-10T16:00:00Z'));
  const later = uuidV7(Date.parse('2020-09-10T16:00:00.001Z'));
  t.ok(earlier < later);
  t.match(uuidV7(), UUID_V7, 'now by default');
  t.equal(uuidV7(0).slice(0, 13), '00000000-0000', 'the epoch pads with zeros');
});

t.test('uuidV7 refuses a time it cannot encode', async (t) => {
  for (const bad of [-1, 1.5, 2 ** 48, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => uuidV7(bad), RangeError, String(bad));
  }
  t.equal(uuidV7(2 ** 48 - 1).slice(0, 13), 'ffffffff-ffff', 'the last encodable millisecond');
});
