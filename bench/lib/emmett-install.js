/**
 * Installs the peer measured by the `emmett` suite, Emmett's SQLite event store, into a scratch folder of its
 * own, never into the workspace: Emmett has no licence, so it must not become a project dependency (nor
 * appear in the lockfile). The folder is `.bench/emmett-<version>/` at the repository root (git-ignored),
 * reused by later runs once an install finished; an interrupted install leaves nothing behind.
 *
 * Versions are pinned: 0.38.5 is the newest emmett-sqlite whose matching `@event-driven-io/emmett` the registry
 * has (emmett-sqlite 0.42.4 wants emmett 0.42.4, which is not published). sqlite3, the async driver it uses, is
 * a native addon; its prebuilt binary cannot be downloaded here, so npm builds it from source (about two
 * minutes on 2 cores, needs python3, make and g++).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EMMETT_VERSION = '0.38.5';
export const SQLITE3_VERSION = '5.1.7';
const PACKAGES = [
  `@event-driven-io/emmett@${EMMETT_VERSION}`,
  `@event-driven-io/emmett-sqlite@${EMMETT_VERSION}`,
  `sqlite3@${SQLITE3_VERSION}`,
];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the peer is installed (`BENCH_CACHE_DIR`, default `.bench/` in the repository, git-ignored). */
export const CACHE_DIR = process.env.BENCH_CACHE_DIR ?? join(ROOT, '.bench');

function progress(message) {
  process.stderr.write(`  ${message}\n`);
}

function versionIn(dir, name) {
  const file = join(dir, 'node_modules', name, 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

/** True when `dir` holds the pinned packages and sqlite3's native addon loads. */
function usable(dir) {
  if (versionIn(dir, '@event-driven-io/emmett-sqlite')?.version !== EMMETT_VERSION) return false;
  if (versionIn(dir, '@event-driven-io/emmett')?.version !== EMMETT_VERSION) return false;
  try {
    createRequire(join(dir, 'package.json'))('sqlite3');
    return true;
  } catch {
    return false;
  }
}

/** The npm child and its folder while an install runs, for `interruptInstall`. */
let installing;

/** For a suite's Ctrl-C handler: stops an install under way and removes its partial folder. */
export function interruptInstall() {
  if (installing === undefined) return;
  installing.npm?.kill('SIGKILL');
  rmSync(installing.dir, { recursive: true, force: true });
}

function npmInstall(dir) {
  return new Promise((resolve, reject) => {
    // `--prefix` keeps npm from treating the folder as part of the workspace above it.
    const npm = spawn(
      'npm',
      ['install', '--prefix', dir, '--no-audit', '--no-fund', '--save-exact', ...PACKAGES],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    npm.stdout.on('data', (chunk) => {
      output += chunk;
    });
    npm.stderr.on('data', (chunk) => {
      output += chunk;
    });
    installing = { npm, dir };
    npm.once('error', reject);
    npm.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `npm install exited with ${code ?? signal}:\n${output.trim().split('\n').slice(-15).join('\n')}`,
          ),
        );
    });
  });
}

/**
 * The scratch folder holding Emmett, installing it first if needed. Returns what is installed there, for the
 * report: `{ dir, emmett, emmettSqlite, sqlite3, licence, installed: 'now' | 'cached', seconds }`.
 */
export async function ensureEmmett() {
  const dir = join(CACHE_DIR, `emmett-${EMMETT_VERSION}`);
  let installed = 'cached';
  let seconds = 0;
  if (!usable(dir)) {
    // Install beside the final folder and rename at the end, so an interrupted install is never reused.
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(dir, { recursive: true, force: true });
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    writeFileSync(
      join(partial, 'package.json'),
      `${JSON.stringify({ name: 'ledger-bench-emmett', private: true, description: 'scratch install for bench/emmett.bench.js' }, null, 2)}\n`,
    );
    progress(`installing ${PACKAGES.join(' ')} into ${dir} (builds sqlite3 from source, about 2 minutes)`);
    const started = performance.now();
    installing = { dir: partial };
    try {
      await npmInstall(partial);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      throw error;
    } finally {
      installing = undefined;
    }
    renameSync(partial, dir);
    seconds = (performance.now() - started) / 1000;
    installed = 'now';
    if (!usable(dir)) throw new Error(`the install in ${dir} finished but sqlite3 does not load`);
  }
  const emmett = versionIn(dir, '@event-driven-io/emmett');
  const emmettSqlite = versionIn(dir, '@event-driven-io/emmett-sqlite');
  return {
    dir,
    emmett: emmett.version,
    emmettSqlite: emmettSqlite.version,
    sqlite3: versionIn(dir, 'sqlite3').version,
    licence: emmettSqlite.license ?? emmett.license ?? 'none declared',
    installed,
    seconds,
  };
}

/** Loads Emmett's SQLite package (CommonJS build) from the scratch folder. */
export function loadEmmettSqlite(dir) {
  const require = createRequire(join(dir, 'package.json'));
  return { emmettSqlite: require('@event-driven-io/emmett-sqlite'), sqlite3: require('sqlite3') };
}
