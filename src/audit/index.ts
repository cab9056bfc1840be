/** The audit subsystem: signed, hash-chained, append-only JSON-lines log. */
export { canonicalize } from './canonical.js';
export { pae, RECORD_PAYLOAD_TYPE, CHECKPOINT_PAYLOAD_TYPE, SIGNATURE_ALG } from './dsse.js';
export {
  GENESIS_PREV,
  encodeRecord,
  decodeRecord,
  lineHash,
  type AuditEvent,
  type AuditPayload,
  type AuditEnvelope,
  type AuditSignature,
  type EncodedRecord,
  type DecodedRecord,
} from './record.js';
export { checkpointPathFor, decodeCheckpoint, originFor, type Checkpoint } from './checkpoint.js';
export { openAuditLog, resealAuditLog, DEFAULT_LOCK_TIMEOUT_MS, type AuditWriter, type AppendResult, type OpenAuditLogOptions } from './writer.js';
export type { LogHead } from './head.js';
export { rotateKey } from './rotate.js';
export { verifyLogs, type VerifyOptions, type VerifyReport, type LogReport, type FirstBad, type CheckpointStatus, type FaultKind } from './verify.js';
export {
  readRecords,
  filterRecords,
  matchesFilter,
  auditStats,
  percentile,
  type ParsedRecord,
  type RecordFilter,
  type AuditStats,
  type TimingStats,
} from './query.js';
