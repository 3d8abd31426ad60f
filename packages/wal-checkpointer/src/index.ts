export {
  CHECKPOINTER_FAILED,
  type CheckpointInBackgroundOptions,
  checkpointInBackground,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  FALLBACK_AUTOCHECKPOINT_PAGES,
  JOURNAL_SIZE_LIMIT_BYTES,
  type WalCheckpointer,
} from './wal-checkpointer.js';
