export {
  CHECKPOINTER_FAILED,
  type CheckpointInBackgroundOptions,
  checkpointInBackground,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  FALLBACK_AUTOCHECKPOINT_PAGES,
  WalCheckpointer,
} from './wal-checkpointer.js';
