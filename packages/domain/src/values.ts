/**
 * Value schemas shared by events, commands and HTTP validation. Each schema has a same-named type.
 *
 * Input objects are strict: an audit ledger must not silently drop what a client sent, so unknown fields
 * are rejected rather than stripped.
 */
import { z } from 'zod';

/** Longest `summary`, `statement`, `reason` or caveat, in UTF-16 code units, counted after normalising. */
export const LONG_TEXT_MAX = 10_000;
/** Longest name, title, alias, target or campaign, in UTF-16 code units, counted after normalising. */
export const SHORT_TEXT_MAX = 200;

// `.trim()` and `.normalize()` run before the length checks that follow them, so lengths are those of the
// stored text, not of what the client happened to send.
// A lone UTF-16 surrogate is not a character: stored as given it would come back as U+FFFD from some reads and
// as itself from others, so the record would say different things depending on where it is read.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Control characters (NUL, BEL, ESC, the C1 block) are no text anyone states; in a name they hide what is shown.
// A long text may keep its line breaks and tabs.
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_LINE_BREAKS = /(?![\t\n\r])\p{Cc}/u;
const text = (max: number, control: RegExp, what: string) =>
  z
    .string()
    .refine((value) => !LONE_SURROGATE.test(value), 'must be well-formed Unicode (no lone surrogates)')
    .trim()
    .normalize('NFC')
    // After trimming: white space around a name (a trailing newline) goes, inside it is refused.
    .refine((value) => !control.test(value), `must not contain control characters${what}`)
    .min(1, 'must not be empty')
    .max(max);

/** A trimmed, NFC-normalised, non-empty name, title, alias, target or campaign (at most 200). */
export const ShortText = text(SHORT_TEXT_MAX, CONTROL, '');
export type ShortText = z.infer<typeof ShortText>;

/** A trimmed, NFC-normalised, non-empty summary, statement, reason or caveat (at most 10 000). */
export const LongText = text(LONG_TEXT_MAX, CONTROL_BUT_LINE_BREAKS, ' (line breaks and tabs are fine)');
export type LongText = z.infer<typeof LongText>;

/** A party's id: a lower-case slug such as `microsoft` or `us-dhs`. */
export const PartyId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a slug of lower-case letters, digits and "-" (at most 64)');
export type PartyId = z.infer<typeof PartyId>;

export const PartyKind = z.enum([
  'vendor',
  'researcher',
  'media',
  'government',
  'intergovernmental',
  'other',
]);
export type PartyKind = z.infer<typeof PartyKind>;

/** The kinds of party whose confirmation counts as official. */
export const OfficialPartyKind = z.enum(['government', 'intergovernmental']);
export type OfficialPartyKind = z.infer<typeof OfficialPartyKind>;

/** Whoever speaks. Its `name` and `kind` are recorded as given in each event. */
export const Party = z.strictObject({ id: PartyId, name: ShortText, kind: PartyKind });
export type Party = z.infer<typeof Party>;

/** A party allowed to confirm a claim. */
export const OfficialParty = Party.extend({ kind: OfficialPartyKind });
export type OfficialParty = z.infer<typeof OfficialParty>;

/**
 * The 249 codes officially assigned by ISO 3166-1 alpha-2, in alphabetical order. Reserved, deprecated and
 * user-assigned codes (`UK`, `EU`, `SU`, `XK`, `XX`, `ZZ`) are not states and are absent on purpose.
 */
// biome-ignore format: one line per initial letter keeps the list checkable by eye
export const ISO_3166_ALPHA2 = [
  'AD', 'AE', 'AF', 'AG', 'AI', 'AL', 'AM', 'AO', 'AQ', 'AR', 'AS', 'AT', 'AU', 'AW', 'AX', 'AZ',
  'BA', 'BB', 'BD', 'BE', 'BF', 'BG', 'BH', 'BI', 'BJ', 'BL', 'BM', 'BN', 'BO', 'BQ', 'BR', 'BS', 'BT', 'BV', 'BW', 'BY', 'BZ',
  'CA', 'CC', 'CD', 'CF', 'CG', 'CH', 'CI', 'CK', 'CL', 'CM', 'CN', 'CO', 'CR', 'CU', 'CV', 'CW', 'CX', 'CY', 'CZ',
  'DE', 'DJ', 'DK', 'DM', 'DO', 'DZ',
  'EC', 'EE', 'EG', 'EH', 'ER', 'ES', 'ET',
  'FI', 'FJ', 'FK', 'FM', 'FO', 'FR',
  'GA', 'GB', 'GD', 'GE', 'GF', 'GG', 'GH', 'GI', 'GL', 'GM', 'GN', 'GP', 'GQ', 'GR', 'GS', 'GT', 'GU', 'GW', 'GY',
  'HK', 'HM', 'HN', 'HR', 'HT', 'HU',
  'ID', 'IE', 'IL', 'IM', 'IN', 'IO', 'IQ', 'IR', 'IS', 'IT',
  'JE', 'JM', 'JO', 'JP',
  'KE', 'KG', 'KH', 'KI', 'KM', 'KN', 'KP', 'KR', 'KW', 'KY', 'KZ',
  'LA', 'LB', 'LC', 'LI', 'LK', 'LR', 'LS', 'LT', 'LU', 'LV', 'LY',
  'MA', 'MC', 'MD', 'ME', 'MF', 'MG', 'MH', 'MK', 'ML', 'MM', 'MN', 'MO', 'MP', 'MQ', 'MR', 'MS', 'MT', 'MU', 'MV', 'MW', 'MX', 'MY', 'MZ',
  'NA', 'NC', 'NE', 'NF', 'NG', 'NI', 'NL', 'NO', 'NP', 'NR', 'NU', 'NZ',
  'OM',
  'PA', 'PE', 'PF', 'PG', 'PH', 'PK', 'PL', 'PM', 'PN', 'PR', 'PS', 'PT', 'PW', 'PY',
  'QA',
  'RE', 'RO', 'RS', 'RU', 'RW',
  'SA', 'SB', 'SC', 'SD', 'SE', 'SG', 'SH', 'SI', 'SJ', 'SK', 'SL', 'SM', 'SN', 'SO', 'SR', 'SS', 'ST', 'SV', 'SX', 'SY', 'SZ',
  'TC', 'TD', 'TF', 'TG', 'TH', 'TJ', 'TK', 'TL', 'TM', 'TN', 'TO', 'TR', 'TT', 'TV', 'TW', 'TZ',
  'UA', 'UG', 'UM', 'US', 'UY', 'UZ',
  'VA', 'VC', 'VE', 'VG', 'VI', 'VN', 'VU',
  'WF', 'WS',
  'YE', 'YT',
  'ZA', 'ZM', 'ZW',
] as const;

/** An assigned ISO 3166-1 alpha-2 code in upper case (`CN`); `cn`, `UK`, `EU`, `XX` are rejected. */
export const StateCode = z.enum(ISO_3166_ALPHA2, {
  error: 'must be an assigned ISO 3166-1 alpha-2 code in upper case',
});
export type StateCode = z.infer<typeof StateCode>;

export const Relation = z.enum(['operating-from', 'sponsored-by', 'directed-by', 'affiliated-with']);
export type Relation = z.infer<typeof Relation>;

/** The actor → state link a claim asserts. */
export const Attribution = z.strictObject({ state: StateCode, relation: Relation });
export type Attribution = z.infer<typeof Attribution>;

/**
 * An RFC 3339 date-time with a zone (`Z` or `±hh:mm`), kept as given: the zone the speaker used is part of
 * the record. Compare them with `compareInstants`, never as strings.
 */
export const DateTime = z.iso.datetime({
  offset: true,
  error: 'must be an RFC 3339 date-time with a zone (Z or ±hh:mm)',
});
export type DateTime = z.infer<typeof DateTime>;

/** An absolute `http`/`https` URL. */
export const HttpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
  .trim()
  .regex(/^\S+$/, 'must not contain whitespace');
export type HttpUrl = z.infer<typeof HttpUrl>;

/** Where a statement was published. */
export const Source = z.strictObject({
  url: HttpUrl,
  title: ShortText.optional(),
  publishedAt: DateTime.optional(),
});
export type Source = z.infer<typeof Source>;

/** The person who spoke for a party (`Tom Burt`, `Corporate Vice President`). */
export const Spokesperson = z.strictObject({ name: ShortText, title: ShortText.optional() });
export type Spokesperson = z.infer<typeof Spokesperson>;

// Combining marks (\p{M}) stay with their letter: without them, Indic scripts would be cut inside words and
// the dot of a lower-cased `İ` would become a separator.
const NON_ALPHANUMERIC_RUN = /[^\p{L}\p{M}\p{N}]+/gu;
const EDGE_DASHES = /^-+|-+$/g;

/**
 * The id of a threat actor: its name NFC-normalised, lower-cased, with every run of characters that are not
 * Unicode letters, combining marks or digits replaced by `-`, and `-` trimmed from both ends.
 *
 * A name without any letter or digit (`"—"`, `"!!!"`) yields `""`; `ActorName` rejects such names, so an
 * event never carries an empty actor id. The function is idempotent: an id is its own id.
 *
 * @example
 * ```ts
 * actorIdOf('Volt Typhoon'); // 'volt-typhoon'
 * actorIdOf('  APT 28 / Fancy_Bear '); // 'apt-28-fancy-bear'
 * actorIdOf('Équipe Rouge'); // 'équipe-rouge'
 * ```
 */
export function actorIdOf(name: string): string {
  // NFC again after lower-casing: a few case mappings yield decomposed sequences.
  return name
    .normalize('NFC')
    .toLowerCase()
    .normalize('NFC')
    .replace(NON_ALPHANUMERIC_RUN, '-')
    .replace(EDGE_DASHES, '');
}

// Scripts whose letters are easily mistaken for one another (UTS #39's classic confusables): `Fаncy Bear` with
// a Cyrillic `а` reads as `Fancy Bear` but would be another actor id, i.e. a second record of the same actor.
const CONFUSABLE_SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Cyrillic}/u, /\p{Script=Greek}/u] as const;
const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * Whether a name has a word mixing Latin, Cyrillic or Greek letters: the look-alike spoof of another actor's
 * name. Words of one script each (`APT28 Фэнси`) and other scripts (`APT10 中国`) are fine.
 *
 * @example
 * ```ts
 * mixesLookAlikeScripts('Fancy Bear'); // false
 * mixesLookAlikeScripts('F\u0430ncy Bear'); // true (Cyrillic а)
 * ```
 */
export function mixesLookAlikeScripts(name: string): boolean {
  for (const [word] of name.normalize('NFC').matchAll(WORD)) {
    let scripts = 0;
    for (const script of CONFUSABLE_SCRIPTS) if (script.test(word)) scripts += 1;
    if (scripts > 1) return true;
  }
  return false;
}

/**
 * A threat actor's name as said in a claim: it must contain a letter or a digit (so that its id is not empty),
 * and no word may mix Latin, Cyrillic and Greek letters (look-alike names would split one actor in two).
 */
export const ActorName = ShortText.refine((name) => actorIdOf(name) !== '', {
  error: 'must contain a letter or a digit (the actor id is derived from it)',
}).refine((name) => !mixesLookAlikeScripts(name), {
  error: 'must not mix Latin, Cyrillic or Greek letters within a word (a look-alike of another name)',
});
export type ActorName = z.infer<typeof ActorName>;

/** An actor id as `actorIdOf` makes it (`volt-typhoon`): a non-empty string that is its own id. */
export const ActorId = z
  .string()
  .min(1)
  .refine((id) => actorIdOf(id) === id, {
    error: 'must be an actor id as derived from a name (volt-typhoon)',
  });
export type ActorId = z.infer<typeof ActorId>;

/** A claim's id: a UUID (the server makes them, v7 preferred). */
export const ClaimId = z.uuid();
export type ClaimId = z.infer<typeof ClaimId>;

// Splits a valid `DateTime` into the whole second (parsed by `Date.parse`) and the decimal fraction, which is
// compared as digits: RFC 3339 allows any precision, `Date` keeps milliseconds only.
const DATE_TIME_PARTS = /^(.{19})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

interface Instant {
  readonly second: number;
  readonly fraction: string;
}

// Sorting and cutting off an actor's history compares the same few thousand strings over and over; validating
// each with zod every time made `asOf` on an actor with 5 000 claims take ~120 ms. Parsed instants are
// remembered (the function stays pure), and the memo is dropped whole when it grows past its bound.
const INSTANT_MEMO_LIMIT = 100_000;
const instantMemo = new Map<string, Instant>();

function instantOf(value: string): Instant {
  const memo = instantMemo.get(value);
  if (memo !== undefined) return memo;
  const parts = DateTime.safeParse(value).success ? DATE_TIME_PARTS.exec(value) : null;
  if (parts === null) throw new RangeError(`not an RFC 3339 date-time with a zone: ${JSON.stringify(value)}`);
  const [, second, fraction = '', zone] = parts;
  const instant = { second: Date.parse(`${second}${zone}`), fraction: fraction.replace(/0+$/, '') };
  if (instantMemo.size >= INSTANT_MEMO_LIMIT) instantMemo.clear();
  instantMemo.set(value, instant);
  return instant;
}

/**
 * Compares two `DateTime`s as instants, whatever their zones and precisions: negative when `a` is earlier,
 * `0` for the same instant, positive when `a` is later. Throws a `RangeError` on a string that is not a
 * `DateTime`.
 *
 * @example
 * ```ts
 * compareInstants('2020-09-10T14:00:00+02:00', '2020-09-10T12:00:00Z'); // 0
 * compareInstants('2020-09-10T12:00:00.0001Z', '2020-09-10T12:00:00Z'); // 1
 * ```
 */
export function compareInstants(a: string, b: string): -1 | 0 | 1 {
  const x = instantOf(a);
  const y = instantOf(b);
  if (x.second !== y.second) return x.second < y.second ? -1 : 1;
  const width = Math.max(x.fraction.length, y.fraction.length);
  const fx = x.fraction.padEnd(width, '0');
  const fy = y.fraction.padEnd(width, '0');
  return fx === fy ? 0 : fx < fy ? -1 : 1;
}
