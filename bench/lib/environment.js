import { createRequire } from 'node:module';
import { arch, cpus, platform, release, tmpdir } from 'node:os';
import Database from 'better-sqlite3';

const require = createRequire(import.meta.url);

/**
 * The Markdown header every benchmark run starts with: when and where it ran, so that a pasted table says
 * which machine its figures belong to.
 *
 * @example
 * console.log(environmentHeader(['store']));
 */
export function environmentHeader(suites) {
  const processors = cpus();
  const memory = new Database(':memory:');
  const sqliteVersion = memory.prepare('SELECT sqlite_version()').pluck().get();
  memory.close();
  const betterSqlite3 = require('better-sqlite3/package.json').version;
  return [
    `# Benchmarks: ${suites.join(', ')}`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Node: ${process.version} (${platform()} ${release()}, ${arch()})`,
    `- CPU: ${processors[0]?.model.trim() ?? 'unknown'}, ${processors.length} cores`,
    `- better-sqlite3 ${betterSqlite3}, SQLite ${sqliteVersion}; temporary files under ${tmpdir()}`,
    '',
  ].join('\n');
}
