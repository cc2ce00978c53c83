/**
 * EventStoreDB / KurrentDB adapter for the {@link EventStore} port, over
 * `@eventstore/db-client` 6.2.1. `openEventStore` loads this module lazily for `esdb://`,
 * `esdb+discover://` and `kurrentdb://` connection strings.
 *
 * Connection strings (keys are case- and `_`-insensitive; see docs/esdb.md):
 * - single node: `esdb://host:2113?tls=false`
 * - cluster by gossip seeds: `esdb://node1:2113,node2:2113,node3:2113?tls=false` — the client
 *   asks the seeds' Gossip service for the members and connects to one allowed by
 *   `nodePreference` (default `leader`); after UNAVAILABLE or a not-leader answer it rediscovers
 *   on the next call, and subscriptions opened through this adapter resubscribe.
 * - cluster by DNS: `esdb+discover://cluster.example.com:2113` — the name resolves to the seeds.
 * - `kurrentdb://…` / `kurrentdb+discover://…` are accepted and rewritten to `esdb` for 6.2.1.
 *
 * TLS: servers are secure by default, and so is the client: omit `tls` (or `tls=true`) for
 * production. `tls=false` only for insecure dev clusters. To trust a private CA, pass
 * `tlsCAFile=/path/ca.crt` (relative to the working directory) or set `NODE_EXTRA_CA_CERTS`.
 * **`tlsVerifyCert=false` is ignored by the Node client (it only logs a warning)**: it cannot
 * be used to skip verification. Client certificates: `userCertFile` + `userKeyFile`.
 * Credentials: `esdb://user:password@host:2113`; reading and subscribing to `$all` needs a user
 * allowed by the `$all` ACL (admins by default).
 *
 * @see {@link https://developers.eventstore.com/clients/grpc/ | EventStoreDB gRPC clients}
 * @packageDocumentation
 */
import { EventStoreDBClient } from '@eventstore/db-client';
import { EngineError, ErrorCode } from '../../errors.js';
import type { EventStore } from '../types.js';
import { EsdbStore, toEsdbConnectionString } from './esdbStore.js';

export { EsdbStore, toEsdbConnectionString } from './esdbStore.js';
export { EsdbSubscription } from './subscription.js';
export { deployProjections, EsdbProjectionReader, type DeployReport } from './projections.js';

export interface OpenEsdbOptions {
  /**
   * Check that the server answers before returning (default true), so that a wrong address
   * fails at start-up with `store_unavailable` instead of at the first request.
   */
  probe?: boolean;
}

/**
 * Opens the store. Throws `config_invalid` for a malformed connection string and, when
 * probing, `store_unavailable` when no node answers.
 */
export async function openEsdbStore(connectionString: string, options: OpenEsdbOptions = {}): Promise<EsdbStore & EventStore> {
  const normalised = toEsdbConnectionString(connectionString);
  let shared = clients.get(normalised);
  if (!shared) {
    let client: EventStoreDBClient;
    try {
      client = EventStoreDBClient.connectionString(normalised);
    } catch (err) {
      throw new EngineError(ErrorCode.CONFIG_INVALID, `Invalid EventStoreDB connection string: ${(err as Error).message}`, {
        cause: err,
      });
    }
    shared = { client, users: 0 };
    clients.set(normalised, shared);
  }
  shared.users++;
  const entry = shared;
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    if (--entry.users > 0) return;
    clients.delete(normalised);
    // dispose() waits for every open call to finish; do not let one stuck call hang close().
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      entry.client.dispose().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DISPOSE_WAIT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  };
  const store = new EsdbStore(entry.client, release);
  if (options.probe ?? true) {
    try {
      await store.headPosition();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }
  return store;
}

/**
 * One client per connection string per process, shared by every store opened on it.
 * `@eventstore/db-client` 6.2.1 keeps BatchAppend's pending appends in a module-wide map and
 * rejects all of them when any client's BatchAppend stream ends, including on `dispose()`; with
 * a shared client, closing one store (e.g. one of two replicas in a test process) cannot fail
 * the other's appends.
 */
const DISPOSE_WAIT_MS = 2_000;
const clients = new Map<string, { client: EventStoreDBClient; users: number }>();
