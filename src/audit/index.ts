/** Audit replay: flow histories and whole-log verification (architecture §1 use 2). */
export { ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './anomaly.js';
export { getFlowHistory, type FlowHistory, type HistoryEntry, type HistoryOptions } from './flowHistory.js';
export { LogVerifier, type VerificationSummary, type VerifierOptions, type VerifyStep } from './logVerifier.js';
export { redactData, HASH_MARKER, REDACTED_MARKER, SEALED_MARKER } from './redact.js';
export { replayAll, replayFlow, type FlowReplay, type ReplayAllOptions, type ReplayAllResult, type ReplayProgress } from './replay.js';
