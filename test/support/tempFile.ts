import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** A path `name` in a fresh temporary folder, removed when the test ends. */
export async function tempFile(t: ExecutionContext, name = 'events.db'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flow-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, name);
}
