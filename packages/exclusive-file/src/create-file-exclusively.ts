import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CreateFileOptions {
  /** The file's permission bits, set exactly (not masked by the umask): `0o600` for a secret. */
  readonly mode: number;
}

/** `link(2)` answers these on file systems without hard links (some FUSE and network mounts, exFAT). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Creates `path` with `content` unless it exists, as one step that other processes see whole or not at all:
 * the content goes to a temporary file beside it (`<path>.<pid>.<random>.tmp`, same mode), is fsync'd, and is
 * linked to `path` (which fails if `path` exists), then the directory is fsync'd so the new name survives a
 * power cut. Returns `true` when this call created the file, `false` when it existed (then its content is
 * whoever's won, never half written).
 *
 * Why not `writeFile(path, content, { flag: 'wx' })`: that creates the file empty first and writes after, so
 * a second process starting at the same moment can read an empty or partial file, and a crash can leave one.
 * That is still the fallback on a file system without hard links, where nothing better is possible.
 *
 * Errors are the file system's (`ENOENT` for a directory that does not exist, `EACCES`, `ENOSPC`). A crash
 * between writing and linking can leave the temporary file behind: delete it.
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
  writeDurably(temporary, content, options.mode);
  let linked: boolean;
  try {
    linkSync(temporary, path);
    linked = true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') linked = false;
    else if (NO_HARD_LINKS.has(code)) linked = createInPlace(path, content, options.mode);
    else {
      rmSync(temporary, { force: true });
      throw error;
    }
  }
  rmSync(temporary, { force: true });
  if (linked) syncDirectory(dirname(path));
  return linked;
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

/** The fallback without hard links: exclusive, but not atomic for a reader. */
function createInPlace(path: string, content: string | Uint8Array, mode: number): boolean {
  try {
    writeDurably(path, content, mode);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
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
