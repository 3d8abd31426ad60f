const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+)(ms|s|m|h|d)?$/;

/**
 * Parses a duration such as `24h`, `90m`, `3600s`, `500ms`, `7d`, or plain milliseconds (`1500`) into
 * milliseconds. Returns `undefined` for anything else (negative, fractional, unknown unit, too large).
 *
 * @example
 * ```ts
 * parseDuration('24h'); // 86_400_000
 * parseDuration('1500'); // 1500
 * parseDuration('1.5h'); // undefined
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (match === null) return undefined;
  const ms = Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}
