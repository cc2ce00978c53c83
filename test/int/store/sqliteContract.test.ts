import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { storeContract } from '../../support/storeContract.js';

storeContract(test, 'sqlite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flow-store-'));
  const store = await openEventStore(`sqlite:${join(dir, 'events.db')}`);
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

// The same file store with its writes on the caller's thread instead of the writer thread.
storeContract(test, 'sqlite file, inline writer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flow-store-'));
  const store = await openEventStore(`sqlite:${join(dir, 'events.db')}?writer=inline`);
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

storeContract(test, 'sqlite memory', async () => ({ store: await openEventStore('sqlite::memory:') }));
