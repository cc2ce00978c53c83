import type { TestFn } from 'ava';
import type { EventStore } from '../../src/store/types.js';
import { appendAndReadCases } from './storeContract/appendAndRead.js';
import { badInputCases } from './storeContract/badInput.js';
import { expectedRevisionCases, idempotencyCases } from './storeContract/expectedRevision.js';
import { lifecycleCases } from './storeContract/lifecycle.js';
import { multiStreamCases } from './storeContract/multiStream.js';
import { subscriptionCases } from './storeContract/subscriptions.js';
import type { StoreCapabilities } from './storeContract/harness.js';

/**
 * The EventStore contract: every adapter must pass it unchanged. It only uses the port, creates
 * a fresh store per test through `factory`, and uses stream ids no other test uses, so it also
 * runs against a server whose `$all` carries other events. Titles start with `name`.
 */
export function storeContract(
  test: TestFn,
  name: string,
  factory: () => Promise<{ store: EventStore; cleanup?: () => Promise<void> }>,
  capabilities: StoreCapabilities = { globallyUniqueEventIds: true, atomicMultiStreamAppends: true },
): void {
  const contract = { test, name, factory, capabilities };
  appendAndReadCases(contract);
  expectedRevisionCases(contract);
  idempotencyCases(contract);
  multiStreamCases(contract);
  badInputCases(contract);
  subscriptionCases(contract);
  lifecycleCases(contract);
}
