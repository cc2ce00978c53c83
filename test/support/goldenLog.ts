import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventStore, RecordedEvent } from '../../src/store/types.js';

/** Where the committed golden logs live. */
export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));

/** One recorded event as a golden log stores it (revision as a decimal string). */
export interface GoldenEvent {
  stream: string;
  revision: string;
  id: string;
  type: string;
  data: unknown;
  metadata: unknown;
}

/**
 * A complete history written by this engine version (`test/support/generateGolden.ts`).
 * `flows` names the scenario's flows by role; the expected outcomes live in the tests, never
 * here, so regenerating a fixture cannot quietly change what the tests demand.
 */
export interface GoldenLog {
  scenario: string;
  description: string;
  flows: Record<string, string>;
  /** Plaintext secrets the scenario handled (fake values): audit output must contain none. */
  secrets: string[];
  events: GoldenEvent[];
}

export function goldenNames(): string[] {
  return readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
}

export function loadGolden(name: string): GoldenLog {
  return JSON.parse(readFileSync(`${GOLDEN_DIR}${name}.json`, 'utf8')) as GoldenLog;
}

/** Appends a golden log to a store in its recorded order, each event at its recorded revision. */
export async function appendGolden(store: EventStore, events: GoldenEvent[]): Promise<void> {
  for (const e of events) {
    const revision = BigInt(e.revision);
    await store.appendToStream(e.stream, { id: e.id, type: e.type, data: e.data, metadata: e.metadata }, {
      expectedRevision: revision === 0n ? 'no_stream' : revision - 1n,
    });
  }
}

/** A recorded event as the store would return it, for feeding verifiers directly. */
export function toRecorded(e: GoldenEvent, position: number): RecordedEvent {
  return {
    streamId: e.stream,
    id: e.id,
    revision: BigInt(e.revision),
    position: { commit: BigInt(position), prepare: BigInt(position) },
    type: e.type,
    data: structuredClone(e.data),
    metadata: structuredClone(e.metadata),
    created: new Date(0),
  };
}
