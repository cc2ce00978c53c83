import { inspect } from 'node:util';
import { toWireError } from '../store/sqlite/writerWire.js';

const text = (v: unknown): string => {
  try {
    return inspect(v, { depth: 3, breakLength: Infinity });
  } catch {
    return '[unprintable]';
  }
};

/**
 * A log record's fields as they can cross a thread boundary (`postMessage`): errors keep their
 * code and details (structured clone keeps only name, message and stack), anything else that
 * cannot be cloned goes as its `inspect` text. Never throws.
 */
export function cloneableFields(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    try {
      out[k] = structuredClone(v instanceof Error ? { ...toWireError(v), name: v.name, stack: v.stack } : v);
    } catch {
      out[k] = text(v);
    }
  }
  return out;
}
