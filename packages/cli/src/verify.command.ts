import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { CheckpointLog, IntegrityKey, type VerifyReport, verifyLedger } from '@ledger/integrity';

/**
 * `ledger verify`: reads `<dataDir>/events.db` directly (a running ledger may keep writing), recomputes every
 * event's hash and link and the Merkle root, and checks the latest signed checkpoint of the data dir. Signs
 * nothing. Returns the report, or undefined when the data dir has no event store.
 *
 * @example
 * const report = await runVerify('./data');
 * process.exitCode = report?.ok ? 0 : 1;
 */
export async function runVerify(dataDir: string): Promise<VerifyReport | undefined> {
  const path = join(dataDir, 'events.db');
  // Opening would create an empty store, which verifies trivially: a mistyped path must not pass as intact.
  if (!existsSync(path)) return undefined;
  const store = await SqliteEventStore.open({ path });
  try {
    return await verifyLedger(store, {
      checkpoints: new CheckpointLog(dataDir).all(),
      publicKey: IntegrityKey.load(dataDir)?.publicKey,
    });
  } finally {
    await store.close();
  }
}

/** One line for people: what was checked, or where the log first fails. */
export function describeReport(report: VerifyReport): string {
  const against =
    report.checkpoint === undefined
      ? 'no signed checkpoint yet'
      : `checkpoint of ${report.checkpoint.treeSize} events signed ${report.checkpoint.signedAt}`;
  if (report.ok) return `ok: ${report.checkedEvents} events intact and chained; ${against}`;
  const where = report.firstBadPosition === undefined ? '' : ` at position ${report.firstBadPosition}`;
  return `TAMPERED${where} (${report.reason}): ${report.detail}; ${report.checkedEvents} events intact before it`;
}
