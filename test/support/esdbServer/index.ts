/**
 * An in-process gRPC server that speaks the EventStoreDB v1 client protocol, built from the
 * service definitions `@eventstore/db-client` 6.2.1 ships (`generated/*_grpc_pb.js`). It exists
 * so the EventStoreDB adapter runs over the real wire protocol and the unmodified client here,
 * where no EventStoreDB server can run. See `../../../docs/esdb.md`.
 *
 * Implemented: Streams.Read (streams and `$all`, both directions, counts, from revision or
 * position, stream-not-found, server-side filters), filtered and unfiltered `$all`
 * subscriptions (confirmation, checkpoints every `checkpointInterval × 32` scanned events,
 * `caughtUp`, asynchronous live delivery), Streams.Append (legacy) and Streams.BatchAppend
 * (advertised through ServerFeatures.GetSupportedMethods so the client takes its production
 * path), Gossip.Read (one leader member, so seed lists and `esdb+discover://`-style cluster
 * connection strings resolve), Projections Create/Update/Delete/Enable/Disable/Reset/State/
 * Result/Statistics with continuous projections run by a `node:vm` DSL host.
 *
 * FIDELITY LIMITS — what a green run here does NOT prove about a real server:
 * 1. JS engine: projections run in V8 (`node:vm`), the server uses Jint. Syntax support, the
 *    250 ms timeout's precision, JSON number handling and error texts differ. Only the DSL
 *    subset listed in `projectionHost.ts` exists; `$initShared`, `$deleted`, `$created`, bi-state
 *    and `copyTo` are rejected. Events no handler matches are skipped (the server may set the
 *    state to `bodyRaw`). fromAll/fromCategory never see `$`-streams here.
 * 2. Asynchrony: projections lag writes by ~10 ms and then catch up in one go; the server's
 *    lag, batching and checkpoint thresholds (4000 events, …) are not modelled. `fromCategory`
 *    filters by stream name directly instead of reading `$ce-` link streams, and no
 *    `$by_category` / `$by_event_type` links are written.
 * 3. Positions: byte-ish offsets with commit = prepare for every event. A real multi-event
 *    append can give events one commit position and distinct prepare positions. `$all` holds
 *    our events plus projection bookkeeping (`$ProjectionCreated`, `$ProjectionUpdated`,
 *    `$ProjectionCheckpoint`, `Result` in `$projections-*`), but none of the server's own
 *    system records (`$epoch-information`, `$scavenges`, `$>` links, stats streams).
 * 4. Server-only behaviour: idempotent re-append is modelled (same ids right after the expected
 *    revision, or anywhere in sequence for `any`; a partial match is a wrong expected version;
 *    the acknowledgement carries no position). Not modelled: stream metadata (`$maxAge`,
 *    `$maxCount`, `$tb`), Delete/Tombstone, scavenge, ACLs, authentication, TLS, persistent
 *    subscriptions, stream subscriptions, deadlines, leader elections / NotLeader redirects.
 *    The 1 MiB `MaxAppendSize` applies to the total of one append, as on the server.
 * 5. Emit: `emit`/`linkTo` append directly; managed-stream faults and recovery comparison of
 *    re-emitted events are not modelled. Updating a projection keeps its state and checkpoint
 *    (reset rebuilds), which is our reading of the server, not a verified behaviour.
 * 6. Drift: pinned to 6.2.1's v1 protos; KurrentDB 25.1's v2 multi-stream append is absent.
 *    Error statuses for unknown projections (NOT_FOUND) and duplicate creates (ALREADY_EXISTS)
 *    are guesses at the server's codes; the adapter does not depend on them.
 */
import grpc from '@grpc/grpc-js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import projectionsGrpc from '@eventstore/db-client/generated/projections_grpc_pb.js';
import serverFeaturesGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import serverFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import gossipGrpc from '@eventstore/db-client/generated/gossip_grpc_pb.js';
import gossipPb from '@eventstore/db-client/generated/gossip_pb.js';
import { EventLog } from './eventLog.js';
import { projectionsService } from './projectionsService.js';
import { streamsService, type LiveCalls } from './streamsService.js';
import { stringUuid } from './wire.js';

export { EventLog } from './eventLog.js';

export interface EsdbTestServerOptions {
  /** 0 (default) picks a free port; pass a previous server's port to "restart" it. */
  port?: number;
  /** Reuse a log to keep data across a stop/start, like a restarted node. */
  log?: EventLog;
  /** Advertise BatchAppend (default true: the client's production path on servers ≥ 21.10). */
  batchAppend?: boolean;
  /** Send `caughtUp` on subscriptions (default true; servers before 23.10 do not). */
  sendCaughtUp?: boolean;
}

export interface EsdbTestServer {
  connectionString: string;
  port: number;
  log: EventLog;
  /** Ends every live subscription with UNAVAILABLE, as a node shutting down would. */
  dropSubscriptions(): void;
  stop(): Promise<void>;
}

const SERVER_VERSION = '24.10.0-test-server';

export async function startEsdbTestServer(options: EsdbTestServerOptions = {}): Promise<EsdbTestServer> {
  const log = options.log ?? new EventLog();
  const live: LiveCalls = new Set();
  const server = new grpc.Server();
  let port = 0;

  server.addService(streamsGrpc.StreamsService, streamsService(log, { sendCaughtUp: options.sendCaughtUp ?? true }, live));
  const projections = projectionsService(log);
  server.addService(projectionsGrpc.ProjectionsService, projections.service);

  const supported: Array<[string, string, string[]]> = [
    ['event_store.client.streams.Streams', 'Read', []],
    ['event_store.client.streams.Streams', 'Append', []],
    ...(options.batchAppend === false ? [] : [['event_store.client.streams.Streams', 'BatchAppend', ['deadline_duration']] as [string, string, string[]]]),
    ...['Create', 'Update', 'Delete', 'Statistics', 'Enable', 'Disable', 'Reset', 'State', 'Result'].map(
      (m): [string, string, string[]] => ['event_store.client.projections.Projections', m, m === 'Create' ? ['track_emitted_streams'] : []],
    ),
  ];
  server.addService(serverFeaturesGrpc.ServerFeaturesService, {
    getSupportedMethods: (_call: unknown, cb: grpc.sendUnaryData<serverFeaturesPb.SupportedMethods>) => {
      const resp = new serverFeaturesPb.SupportedMethods();
      resp.setEventStoreServerVersion(SERVER_VERSION);
      resp.setMethodsList(
        supported.map(([service, method, features]) => {
          const m = new serverFeaturesPb.SupportedMethod();
          m.setServiceName(service);
          m.setMethodName(method);
          m.setFeaturesList(features);
          return m;
        }),
      );
      cb(null, resp);
    },
  });
  server.addService(gossipGrpc.GossipService, {
    read: (_call: unknown, cb: grpc.sendUnaryData<gossipPb.ClusterInfo>) => {
      const member = new gossipPb.MemberInfo();
      member.setInstanceId(stringUuid('00000000-0000-4000-8000-000000000001'));
      member.setTimeStamp(String(BigInt(Date.now()) * 10_000n));
      member.setState(gossipPb.MemberInfo.VNodeState.LEADER);
      member.setIsAlive(true);
      const ep = new gossipPb.EndPoint();
      ep.setAddress('127.0.0.1');
      ep.setPort(port);
      member.setHttpEndPoint(ep);
      const info = new gossipPb.ClusterInfo();
      info.setMembersList([member]);
      cb(null, info);
    },
  });

  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );

  let stopped = false;
  return {
    connectionString: `esdb://127.0.0.1:${port}?tls=false`,
    port,
    log,
    dropSubscriptions() {
      for (const call of [...live]) {
        live.delete(call);
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Subscription dropped by the test server' });
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      projections.stop();
      server.forceShutdown();
    },
  };
}

