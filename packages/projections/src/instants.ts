// RFC 3339 with a zone, as the domain's `DateTime` accepts it; the fraction may be longer than milliseconds.
const DATE_TIME = /^(.{19})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The instant of a `DateTime` in whole milliseconds, rounded towards the past (`floor`) or the future
 * (`ceil`) when it has a finer fraction. SQL pre-filters compare these; the exact comparison of finer
 * instants is then the domain's (`compareInstants`).
 *
 * @example
 * ```ts
 * instantMs('2020-09-10T12:00:00.0005Z'); // Date.UTC(2020, 8, 10, 12)
 * instantMs('2020-09-10T12:00:00.0005Z', 'ceil'); // Date.UTC(2020, 8, 10, 12) + 1
 * ```
 */
export function instantMs(value: string, rounding: 'floor' | 'ceil' = 'floor'): number {
  const parts = DATE_TIME.exec(value);
  const ms = parts === null ? Number.NaN : Date.parse(`${parts[1]}${parts[3]}`);
  if (Number.isNaN(ms))
    throw new RangeError(`not an RFC 3339 date-time with a zone: ${JSON.stringify(value)}`);
  const fraction = (parts![2] ?? '').padEnd(3, '0');
  const whole = ms + Number(fraction.slice(0, 3));
  return rounding === 'ceil' && /[1-9]/.test(fraction.slice(3)) ? whole + 1 : whole;
}
