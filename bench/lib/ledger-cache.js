/**
 * Cached ledgers for the `rebuild` and `queries` suites. Writing a million sealed events takes minutes, so a
 * generated ledger is kept under `.bench/` (git-ignored; `BENCH_CACHE_DIR` moves it) in a folder named by what
 * it holds: the generator's version, the store's schema version, the size and the shape. A later run with the
 * same key reuses it and says so. The folder is written as `<key>.partial` and renamed once complete, so an
 * interrupted generation is never reused. After changing how the store writes events without a schema
 * version bump (e.g. its sealing), delete `.bench/ledger-*` to measure the new writes.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_VERSION } from '@ledger/event-store-sqlite';
import { CACHE_DIR } from './emmett-install.js';
import { GENERATOR_VERSION } from './ledger-events.js';

const BUILDER = join(dirname(fileURLToPath(import.meta.url)), 'ledger-build.js');
/** Appends outstanding while generating: enough for the store to commit hundreds of appends per fsync. */
const IN_FLIGHT = 256;

/** Child processes started by `runJob`, killed by `killJobs` on Ctrl-C. */
const children = new Set();

/**
 * Runs one job of `lib/ledger-build.js` in a process of its own (with `--expose-gc`, so that the RSS it
 * reports is measured after a collection) and returns its answer.
 */
export function runJob(request) {
  return new Promise((resolve, reject) => {
    const child = fork(BUILDER, [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    let result;
    child.once('message', (message) => {
      result = message;
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (result === undefined) reject(new Error(`${request.job}: exited with ${code ?? signal}`));
      else if (result.error !== undefined) reject(new Error(`${request.job}: ${result.error}`));
      else resolve(result);
    });
    child.send(request);
  });
}

/** Ledgers being generated, removed by `interruptLedgers` so that Ctrl-C leaves no partial folder. */
const partials = new Set();

/** For a suite's Ctrl-C handler: kills the jobs still running and removes any partial ledger. */
export function interruptLedgers() {
  for (const child of children) child.kill('SIGKILL');
  for (const partial of partials) rmSync(partial, { recursive: true, force: true });
}

/**
 * A data dir holding a generated ledger in `events.db` (and nothing else the suites should keep): from the
 * cache, or generated now. `size` is `{ events }` or `{ claims }`; `shape` as `claimHistory` takes it.
 * Returns `{ dir, key, events, claims, generated }`, `generated` being the generator's figures when it ran
 * in this call (seconds, events/s, RSS) or undefined when the ledger came from the cache.
 */
export async function ensureLedger(size, shape, progress) {
  const amount = size.events !== undefined ? `${size.events}ev` : `${size.claims}cl`;
  const hot = shape.hotEvery === undefined ? '' : `-hot${shape.hotEvery}`;
  const key = `ledger-g${GENERATOR_VERSION}-s${SCHEMA_VERSION}-${amount}-a${shape.actors}${hot}`;
  const dir = join(CACHE_DIR, key);
  const manifest = join(dir, 'ledger.json');
  if (existsSync(manifest)) {
    progress(`reusing the cached ledger ${dir}`);
    return { dir, key, ...JSON.parse(readFileSync(manifest, 'utf8')), generated: undefined };
  }
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  partials.add(partial);
  try {
    progress(`generating ${key} in ${partial} (${IN_FLIGHT} appends in flight through the store)`);
    const generated = await runJob({ job: 'generate', dir: partial, ...size, shape, inFlight: IN_FLIGHT });
    const contents = {
      events: generated.events,
      claims: generated.claims,
      shape,
      generatorVersion: GENERATOR_VERSION,
    };
    writeFileSync(join(partial, 'ledger.json'), `${JSON.stringify(contents, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    return { dir, key, ...contents, generated };
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  } finally {
    partials.delete(partial);
  }
}
