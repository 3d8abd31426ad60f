import { ProjectionError } from './errors.js';

/**
 * Opaque page cursors: base64url of the JSON of `[kind, lastSortKey]`. The kind keeps a cursor of one list
 * from being taken by another.
 */
export function encodeCursor(kind: string, key: number | string): string {
  return Buffer.from(JSON.stringify([kind, key])).toString('base64url');
}

/** The sort key in `cursor`, or throws `ProjectionError` `invalid-cursor`. */
export function decodeCursor(kind: string, cursor: string, type: 'number'): number;
export function decodeCursor(kind: string, cursor: string, type: 'string'): string;
export function decodeCursor(kind: string, cursor: string, type: 'number' | 'string'): number | string {
  let decoded: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  if (Array.isArray(decoded) && decoded.length === 2 && decoded[0] === kind) {
    const key: unknown = decoded[1];
    if (type === 'number' && Number.isSafeInteger(key) && (key as number) >= 0) return key as number;
    if (type === 'string' && typeof key === 'string') return key;
  }
  throw new ProjectionError('invalid-cursor', 'the cursor is not one this list handed out', { cursor });
}
