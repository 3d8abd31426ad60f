import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CreateFileOptions {
  /** The file's permission bits, set exactly (not masked by the umask): `0o600` for a secret. */
  readonly mode: number;
}

/**
 * Creates `path` with `content` unless it exists, as one step that other processes see whole or not at all:
 * the content goes to a temporary file beside it (`<path>.<pid>.<random>.tmp`, same mode), is fsync'd, and is
 * linked to `path` (which fails if `path` exists), then the directory is fsync'd so the new name survives a
 * power cut. Returns `true` when this call created the file, `false` when it existed (then its content is
 * whoever's won, never half written).
 *
 * Why not `writeFile(path, content, { flag: 'wx' })`: that creates the file empty first and writes after, so
 * a second process starting at the same moment can read an empty or partial file, and a crash can leave one.
 *
 * Errors are the file system's (`ENOENT` for a directory that does not exist, `EACCES`, `ENOSPC`, `EPERM` on
 * a file system without hard links: the ledger's data dir must be on a local file system anyway, as SQLite's
 * WAL needs one). A crash between writing and linking can leave the temporary file behind: delete it.
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
  try {
    writeDurably(temporary, content, options.mode);
    linkSync(temporary, path);
  } catch (error) {
    const { code, syscall } = error as NodeJS.ErrnoException;
    if (code === 'EEXIST' && syscall === 'link') return false;
    throw error;
  } finally {
    // Also after a failed write (a full disk): no secret is left behind in a temporary file.
    rmSync(temporary, { force: true });
  }
  syncDirectory(dirname(path));
  return true;
}

/** Writes a new file (it must not exist) in full, with exactly `mode`, and fsyncs it. */
function writeDurably(path: string, content: string | Uint8Array, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeFileSync(fd, content);
    fchmodSync(fd, mode);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
