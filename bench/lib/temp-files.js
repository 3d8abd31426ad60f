import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Fresh database paths in one temporary directory under `os.tmpdir()`, removed file by file as measurements
 * finish (a 1-appender file and its WAL should not linger beside the next run) and as a whole at the end.
 */
export class TempFiles {
  #dir;
  #count = 0;

  constructor(prefix = 'ledger-bench-') {
    this.#dir = mkdtempSync(join(tmpdir(), prefix));
  }

  get dir() {
    return this.#dir;
  }

  path(label) {
    this.#count += 1;
    return join(this.#dir, `${label}-${this.#count}.db`);
  }

  remove(path) {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
  }

  removeAll() {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
