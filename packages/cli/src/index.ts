export { type DemoResult, runDemo } from './demo.command.js';
export { type ImportIo, type ProgressDisplay, runImport } from './import.command.js';
export {
  formatKeyTable,
  KEYS_USAGE,
  type KeysCommandIo,
  type ListedKey,
  runKeys,
} from './keys.command.js';
export { isLedgerUp, LedgerApiError, LedgerClient, type WriteResult } from './ledger-client.js';
export { type RebuildOptions, type RebuildProgress, runRebuild } from './rebuild.command.js';
export { expectedStatuses } from './september-2020.scenario.js';
export { formatEvent, runSubscribe, type SubscribeOptions } from './subscribe.command.js';
export {
  type ExportedEvent,
  eventStoreDbLimits,
  eventToLine,
  exportEvents,
  type ImportResult,
  importEvents,
  importIntoStore,
  lastPositionOf,
  lineToEvent,
  type StoreImportOptions,
  type StoreImportProgress,
  type StoreImportResult,
  TransferError,
} from './transfer.command.js';
export { describeReport, runVerify } from './verify.command.js';
