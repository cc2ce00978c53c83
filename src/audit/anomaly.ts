/**
 * What replay can find wrong in a stored log. Each anomaly names the stream and revision so
 * an operator can go straight to the event; `message` is safe to print (no event data).
 */
export type AnomalyKind =
  /** The machine does not accept the event in the state the stream had folded to. */
  | 'illegal_transition'
  /** An event arrived for a flow that had already reached a final state. */
  | 'event_after_final'
  /** The stream's revisions are not 0, 1, 2, ... (missing, repeated or out of order). */
  | 'revision_gap'
  /** The type is not in the catalogue (written by a newer engine, or garbage). */
  | 'unknown_event_type'
  /** A known type in the wrong kind of stream (e.g. `TokensIssued` in a flow stream). */
  | 'misplaced_event'
  /** Metadata or payload does not validate (after upcasting). */
  | 'invalid_event_payload'
  /** The event's schema version is newer than this engine knows. */
  | 'future_schema_version'
  /** The event was produced by a newer flow machine than this engine's. */
  | 'future_machine_version';

export interface Anomaly {
  kind: AnomalyKind;
  stream: string;
  /** The event's stream revision, as a decimal string (JSON-safe). */
  revision: string;
  type: string;
  message: string;
}

/** Every kind, for summaries that list zero counts too. */
export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  'illegal_transition',
  'event_after_final',
  'revision_gap',
  'unknown_event_type',
  'misplaced_event',
  'invalid_event_payload',
  'future_schema_version',
  'future_machine_version',
];
