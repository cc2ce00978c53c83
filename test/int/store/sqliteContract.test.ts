import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { storeContract } from '../../support/storeContract.js';

// Default writer: on this disk every turn commits on the caller's connection.
storeContract(test, 'sqlite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flow-store-'));
  const store = await openEventStore(`sqlite:${join(dir, 'events.db')}`);
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

// The placement of a slow disk (every durable commit counts as slow): contending durable
// writes (the contract's concurrent cases) commit on the writer thread.
storeContract(test, 'sqlite file, writer thread', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flow-store-'));
  const store = await openEventStore(`sqlite:${join(dir, 'events.db')}?slowCommitMs=0`);
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

// The same file store with every write and checkpoint on the caller's thread.
storeContract(test, 'sqlite file, inline writer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flow-store-'));
  const store = await openEventStore(`sqlite:${join(dir, 'events.db')}?writer=inline`);
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

storeContract(test, 'sqlite memory', async () => ({ store: await openEventStore('sqlite::memory:') }));
