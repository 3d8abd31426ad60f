import {
  ActorId,
  ActorName,
  Attribution,
  actorIdOf,
  ClaimId,
  compareInstants,
  DateTime,
  HttpUrl,
  ISO_3166_ALPHA2,
  LongText,
  mixesLookAlikeScripts,
  Party,
  PartyId,
  ShortText,
  Source,
  Spokesperson,
  StateCode,
} from '@ledger/domain';
import t from 'tap';

const ok = (schema: { safeParse(value: unknown): { success: boolean } }, value: unknown) =>
  schema.safeParse(value).success;

t.test('text is trimmed, NFC-normalised, non-empty and bounded after normalising', async (t) => {
  t.equal(ShortText.parse('  Tom Burt \n'), 'Tom Burt');
  t.equal(ShortText.parse('Cafe\u0301'), 'Caf\u00e9', 'decomposed input is stored composed');
  t.notOk(ok(ShortText, '   '), 'blank is empty');
  t.notOk(ok(ShortText, ''));
  t.ok(ok(ShortText, 'x'.repeat(200)));
  t.notOk(ok(ShortText, 'x'.repeat(201)));
  t.ok(ok(ShortText, `  ${'x'.repeat(200)}  `), 'surrounding blanks do not count');
  t.ok(ok(ShortText, 'e\u0301'.repeat(200)), '400 code units before NFC, 200 after');
  t.ok(ok(LongText, 'x'.repeat(10_000)));
  t.notOk(ok(LongText, 'x'.repeat(10_001)));
  t.notOk(ok(ShortText, 42));
});

t.test('party', async (t) => {
  t.ok(ok(PartyId, 'us-dhs'));
  t.ok(ok(PartyId, '0day'));
  t.ok(ok(PartyId, 'a'.repeat(64)));
  t.notOk(ok(PartyId, 'a'.repeat(65)));
  for (const bad of ['-dhs', 'US-DHS', 'us_dhs', 'us dhs', '', 'é']) t.notOk(ok(PartyId, bad), bad);
  t.same(Party.parse({ id: 'microsoft', name: ' Microsoft ', kind: 'vendor' }), {
    id: 'microsoft',
    name: 'Microsoft',
    kind: 'vendor',
  });
  t.notOk(ok(Party, { id: 'microsoft', name: 'Microsoft', kind: 'company' }));
  t.notOk(ok(Party, { id: 'microsoft', name: 'Microsoft', kind: 'vendor', country: 'US' }), 'unknown field');
});

t.test('state codes are the 249 assigned ISO 3166-1 alpha-2 codes, upper case', async (t) => {
  t.equal(ISO_3166_ALPHA2.length, 249);
  t.equal(new Set(ISO_3166_ALPHA2).size, 249);
  t.same([...ISO_3166_ALPHA2].sort(), ISO_3166_ALPHA2, 'sorted');
  for (const code of ['CN', 'RU', 'IR', 'KP', 'US', 'GB', 'AX', 'SS', 'BQ', 'TW', 'PS'])
    t.ok(ok(StateCode, code), code);
  for (const code of ['cn', 'Cn', 'XX', 'UK', 'EU', 'SU', 'XK', 'ZZ', 'AN', 'CHN', '', 156]) {
    t.notOk(ok(StateCode, code), String(code));
  }
  t.match(StateCode.safeParse('UK').error?.issues[0]?.message, /assigned ISO 3166-1/);
  t.ok(ok(Attribution, { state: 'CN', relation: 'operating-from' }));
  t.notOk(ok(Attribution, { state: 'CN', relation: 'hosted-by' }));
  t.notOk(ok(Attribution, { state: 'CN', relation: 'sponsored-by', since: 2019 }));
});

t.test('date-times are RFC 3339 with a zone, kept as given', async (t) => {
  for (const good of [
    '2020-09-10T16:00:00Z',
    '2020-09-11T15:00:00+08:00',
    '2020-09-10T18:00:00.123456-04:00',
  ]) {
    t.equal(DateTime.parse(good), good, good);
  }
  for (const bad of [
    '2020-09-10T16:00:00',
    '2020-09-10',
    '2020-09-10 16:00:00Z',
    '2020-09-10T16:00Z',
    '2020-09-10T16:00:00+0800',
    '2020-02-30T00:00:00Z',
    'yesterday',
  ]) {
    t.notOk(ok(DateTime, bad), bad);
  }
});

t.test('compareInstants compares instants, not strings', async (t) => {
  t.equal(compareInstants('2020-09-10T14:00:00+02:00', '2020-09-10T12:00:00Z'), 0);
  t.equal(
    compareInstants('2020-09-11T07:00:00+08:00', '2020-09-10T23:30:00Z'),
    -1,
    'string order would say 1',
  );
  t.equal(compareInstants('2020-09-10T23:30:00Z', '2020-09-11T07:00:00+08:00'), 1);
  t.equal(compareInstants('2020-09-10T12:00:00.0001Z', '2020-09-10T12:00:00Z'), 1, 'below a millisecond');
  t.equal(compareInstants('2020-09-10T12:00:00.000001Z', '2020-09-10T12:00:00.00001Z'), -1);
  t.equal(compareInstants('2020-09-10T12:00:00.500Z', '2020-09-10T12:00:00.5Z'), 0, 'trailing zeros');
  t.throws(() => compareInstants('2020-09-10T12:00:00', '2020-09-10T12:00:00Z'), RangeError);
  t.throws(() => compareInstants('2020-09-10T12:00:00Z', '2020-02-30T00:00:00Z'), RangeError);
});

t.test('URLs are absolute http(s)', async (t) => {
  t.equal(HttpUrl.parse(' https://blogs.microsoft.com/x?y=1 '), 'https://blogs.microsoft.com/x?y=1');
  t.ok(ok(HttpUrl, 'http://example.org'));
  for (const bad of [
    'ftp://example.org/x',
    'javascript:alert(1)',
    '/relative',
    'example.org',
    'https://exa mple.org',
    'https://example.org/a b',
  ]) {
    t.notOk(ok(HttpUrl, bad), bad);
  }
  t.ok(ok(Source, { url: 'https://example.org' }));
  t.ok(ok(Source, { url: 'https://example.org', title: 'T', publishedAt: '2020-09-10T16:00:00Z' }));
  t.notOk(ok(Source, { url: 'https://example.org', author: 'x' }));
  t.ok(ok(Spokesperson, { name: 'Tom Burt' }));
  t.notOk(ok(Spokesperson, { name: 'Tom Burt', email: 'x' }));
});

t.test('actor ids', async (t) => {
  t.equal(actorIdOf('Volt Typhoon'), 'volt-typhoon');
  t.equal(actorIdOf('  APT 28 / Fancy_Bear '), 'apt-28-fancy-bear');
  t.equal(actorIdOf('--Sandworm--'), 'sandworm');
  t.equal(actorIdOf('E\u0301quipe Rouge'), '\u00e9quipe-rouge', 'NFC first');
  t.equal(actorIdOf('蓝莲花'), '蓝莲花', 'letters of any script');
  t.equal(actorIdOf('İstanbul'), 'i\u0307stanbul', 'a combining mark stays with its letter');
  t.equal(actorIdOf('हिन्दी टीम'), 'हिन्दी-टीम', 'Indic vowel signs are marks, not separators');
  t.equal(actorIdOf('UNC2452'), 'unc2452');
  t.equal(actorIdOf('!!!'), '', 'nothing alphanumeric: empty');
  t.equal(actorIdOf(actorIdOf('Volt Typhoon')), 'volt-typhoon', 'idempotent');

  t.equal(ActorName.parse(' Volt Typhoon '), 'Volt Typhoon');
  t.notOk(ok(ActorName, '—'), 'a name must yield a non-empty id');
  t.match(ActorName.safeParse('!!!').error?.issues[0]?.message, /letter or a digit/);
  t.ok(ok(ActorId, 'volt-typhoon'));
  for (const bad of ['Volt-Typhoon', 'volt typhoon', '-volt', 'volt--typhoon', ''])
    t.notOk(ok(ActorId, bad), bad);
});

t.test('claim ids are UUIDs', async (t) => {
  t.ok(ok(ClaimId, '0174776e-8a00-7000-8000-000000000001'));
  t.notOk(ok(ClaimId, 'claim-1'));
});

t.test('compareInstants stays right past its memo bound', async (t) => {
  const base = Date.UTC(2020, 0, 1);
  let wrong = 0;
  // More distinct instants than the memo keeps, so it is dropped and refilled along the way.
  for (let i = 0; i < 100_050; i += 1) {
    const earlier = new Date(base + i * 1000).toISOString();
    const later = new Date(base + i * 1000 + 1).toISOString();
    if (compareInstants(earlier, later) !== -1 || compareInstants(later, earlier) !== 1) wrong += 1;
  }
  t.equal(wrong, 0);
  t.throws(() => compareInstants('2020-01-01', '2020-01-01T00:00:00Z'), RangeError, 'still validates');
});

t.test('text has no control characters; a long text may keep line breaks and tabs', async (t) => {
  for (const control of ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\n', '\t']) {
    t.notOk(
      ShortText.safeParse(`a${control}b`).success,
      `a name with U+${control.charCodeAt(0).toString(16)}`,
    );
  }
  for (const control of ['\u0000', '\u0007', '\u001b', '\u007f', '\u009b']) {
    t.notOk(
      LongText.safeParse(`a${control}b`).success,
      `a text with U+${control.charCodeAt(0).toString(16)}`,
    );
  }
  t.equal(LongText.parse('line one\r\nline two\tend'), 'line one\r\nline two\tend');
  t.match(ShortText.safeParse('x\u0000y').error?.issues, [
    { message: 'must not contain control characters' },
  ]);
});

t.test('text must be well-formed Unicode: lone surrogates are refused, pairs kept', async (t) => {
  t.notOk(ShortText.safeParse('Bad\ud800Name').success, 'a lone high surrogate');
  t.notOk(LongText.safeParse('trailing \udc00').success, 'a lone low surrogate');
  t.notOk(ActorName.safeParse('A\ud800B').success, 'in an actor name');
  t.equal(
    ShortText.parse('Fancy Bear 🐻'),
    'Fancy Bear 🐻',
    'a surrogate pair is a character like any other',
  );
});

t.test('look-alike actor names: no word may mix Latin, Cyrillic or Greek letters', async (t) => {
  // Each of these reads as a Latin name but carries a Cyrillic or Greek letter.
  for (const spoof of [
    'F\u0430ncy Bear',
    'Z\u0456rconium',
    'Sandw\u043erm',
    'APT\u039f28',
    'Volt Typh\u03bfon',
  ]) {
    t.notOk(ActorName.safeParse(spoof).success, JSON.stringify(spoof));
    t.ok(mixesLookAlikeScripts(spoof));
  }
  t.match(ActorName.safeParse('F\u0430ncy Bear').error?.issues[0]?.message, /look-alike/);
  // One script per word is a name, whatever the scripts; so are scripts that are not confusable with Latin.
  for (const name of [
    'Fancy Bear',
    'Фэнси Беар',
    'APT28 Фэнси',
    'Équipe Rouge',
    'APT10 中国',
    'ΑΠΤ',
    'Lazarus 2',
  ]) {
    t.ok(ActorName.safeParse(name).success, name);
  }
  t.notOk(mixesLookAlikeScripts('Fancy Bear'));
});
