import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CreateFileOptions {
  /** The file's permission bits, set exactly (not masked by the umask): `0o600` for a secret. */
  readonly mode: number;
}

/**
 * Creates `path` with `content` unless it exists, as one step that other processes see whole or not at all:
 * the content goes to a temporary file beside it, is fsync'd, and is linked to `path` (which fails if `path`
 * exists), then the directory is fsync'd so the new name survives a power cut. Returns `true` when this call
 * created the file, `false` when it existed (then its content is whoever's won, never half written).
 *
 * Why not `writeFile(path, content, { flag: 'wx' })`: that creates the file empty first and writes after, so
 * a second process starting at the same moment can read an empty or partial file, and a crash can leave one.
 *
 * @example
 * ```ts
 * if (!createFileExclusively(join(dataDir, 'admin.key'), `${key}\n`, { mode: 0o600 })) {
 *   key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(); // another process was first
 * }
 * ```
 */
export function createFileExclusively(
  path: string,
  content: string | Uint8Array,
  options: CreateFileOptions,
): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', options.mode);
  try {
    try {
      writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
      fchmodSync(fd, options.mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  } finally {
    unlinkSync(temporary);
  }
  syncDirectory(dirname(path));
  return true;
}

function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
