import { randomUUID } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import projectionsPb from '@eventstore/db-client/generated/projections_pb.js';
import structPb from 'google-protobuf/google/protobuf/struct_pb.js';
import type { EventLog, LogRecord } from './eventLog.js';
import { CompiledProjection, envelope } from './projectionHost.js';
import { notFound, serverError } from './wire.js';

/**
 * Projection management over gRPC, with continuous projections run asynchronously against the
 * in-memory log: an append is acknowledged first and projected a few milliseconds later, so
 * callers must poll as they would against a real server.
 */

const PROCESSING_LAG_MS = 10;

interface Projection {
  name: string;
  query: string;
  emitEnabled: boolean;
  compiled: CompiledProjection | undefined;
  enabled: boolean;
  faultReason: string | undefined;
  /** Index of the next `$all` record to look at. */
  cursor: number;
  states: Map<string, unknown>;
  changed: Set<string>;
  handledSinceCheckpoint: number;
  eventsProcessed: number;
  lastPosition: bigint;
  timer: NodeJS.Timeout | undefined;
}

export interface ProjectionsRuntime {
  service: grpc.UntypedServiceImplementation;
  stop(): void;
}

/** JSON round trip: what the server stores and returns (drops `undefined`, functions). */
function jsonValue(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v) ?? 'null');
}

export function projectionsService(log: EventLog): ProjectionsRuntime {
  const projections = new Map<string, Projection>();
  let stopped = false;

  const compile = (p: Projection): void => {
    try {
      p.compiled = new CompiledProjection(p.query, p.emitEnabled, {
        emit: (stream, type, body, metadata) =>
          log.append(stream, 'any', [
            {
              id: randomUUID(),
              type,
              contentType: 'application/json',
              data: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
              metadata: metadata === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(metadata)),
            },
          ]),
        linkTo: (stream, seq, source, metadata) =>
          log.append(stream, 'any', [
            {
              id: randomUUID(),
              type: '$>',
              contentType: 'application/octet-stream',
              data: Buffer.from(`${seq}@${source}`),
              metadata: metadata === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(metadata)),
            },
          ]),
      });
      p.faultReason = undefined;
    } catch (err) {
      p.compiled = undefined;
      p.faultReason = (err as Error).message;
    }
  };

  const schedule = (p: Projection): void => {
    if (stopped || p.timer || !p.enabled || p.faultReason) return;
    p.timer = setTimeout(() => {
      p.timer = undefined;
      run(p);
    }, PROCESSING_LAG_MS);
    p.timer.unref();
  };

  const handle = (p: Projection, c: CompiledProjection, r: LogRecord): void => {
    const def = c.definition;
    if (!c.selects(r)) return;
    // The server skips JSON events with empty data.
    if (r.contentType === 'application/json' && r.data.length === 0) return;
    const handler = def.handlers.get(r.type) ?? def.any;
    if (!handler) return;
    let partition = '';
    if (def.partitioning.kind === 'stream') partition = r.streamId;
    else if (def.partitioning.kind === 'by') {
      const key = c.call(def.partitioning.fn, envelope(r, ''));
      partition = key === null || key === undefined ? '' : String(key);
    }
    const e = envelope(r, partition);
    let state = p.states.has(partition) ? p.states.get(partition) : def.init ? c.call(def.init) : {};
    const next = c.call(handler, state, e);
    if (next !== undefined) state = next;
    p.states.set(partition, state);
    p.changed.add(partition);
    p.handledSinceCheckpoint++;
    p.eventsProcessed++;
  };

  const run = (p: Projection): void => {
    const c = p.compiled;
    if (!c || !p.enabled || p.faultReason || stopped) return;
    try {
      while (p.cursor < log.records.length && p.enabled) {
        const r = log.records[p.cursor]!;
        handle(p, c, r);
        p.cursor++;
        p.lastPosition = r.position;
      }
    } catch (err) {
      p.faultReason = (err as Error).message;
      return;
    }
    if (p.handledSinceCheckpoint > 0) {
      // Bookkeeping writes land in `$all` as on the server, so readers must skip system events.
      p.handledSinceCheckpoint = 0;
      if (c.definition.outputState) {
        for (const partition of p.changed) {
          const stream = partition ? `$projections-${p.name}-${partition}-result` : `$projections-${p.name}-result`;
          log.appendSystem(stream, 'Result', jsonValue(p.states.get(partition)));
        }
      }
      p.changed.clear();
      log.appendSystem(`$projections-${p.name}-checkpoint`, '$ProjectionCheckpoint', {
        $c: p.lastPosition.toString(),
        $p: p.lastPosition.toString(),
      });
    }
  };

  const offAppend = log.onAppend(() => {
    for (const p of projections.values()) schedule(p);
  });

  const get = (name: string): Projection => {
    const p = projections.get(name);
    if (!p) throw notFound(`Projection ${name}`);
    return p;
  };

  const statusOf = (p: Projection): string => (p.faultReason ? 'Faulted' : p.enabled ? 'Running' : 'Stopped');

  const details = (p: Projection): projectionsPb.StatisticsResp => {
    const d = new projectionsPb.StatisticsResp.Details();
    d.setCoreprocessingtime('0');
    d.setVersion('1');
    d.setEpoch('-1');
    d.setEffectivename(p.name);
    d.setWritesinprogress(0);
    d.setReadsinprogress(0);
    d.setPartitionscached(p.states.size);
    d.setStatus(statusOf(p));
    d.setStatereason(p.faultReason ?? '');
    d.setName(p.name);
    d.setMode('Continuous');
    d.setPosition(`C:${p.lastPosition}/P:${p.lastPosition}`);
    d.setProgress(p.cursor >= log.records.length ? 100 : (100 * p.cursor) / Math.max(1, log.records.length));
    d.setLastcheckpoint(`C:${p.lastPosition}/P:${p.lastPosition}`);
    d.setEventsprocessedafterrestart(String(p.eventsProcessed));
    d.setCheckpointstatus('');
    d.setBufferedevents('0');
    d.setWritependingeventsbeforecheckpoint(0);
    d.setWritependingeventsaftercheckpoint(0);
    const resp = new projectionsPb.StatisticsResp();
    resp.setDetails(d);
    return resp;
  };

  type Unary<Req, Resp> = (call: grpc.ServerUnaryCall<Req, Resp>, cb: grpc.sendUnaryData<Resp>) => void;
  const unary =
    <Req, Resp>(fn: (req: Req) => Resp): Unary<Req, Resp> =>
    (call, cb) => {
      try {
        cb(null, fn(call.request));
      } catch (err) {
        cb(err as grpc.ServiceError);
      }
    };

  const create = unary((req: projectionsPb.CreateReq) => {
    const o = req.getOptions()!;
    if (!o.hasContinuous()) throw serverError(grpc.status.UNIMPLEMENTED, 'Only continuous projections are implemented by the test server');
    const name = o.getContinuous()!.getName();
    if (projections.has(name)) throw serverError(grpc.status.ALREADY_EXISTS, `Conflict: projection ${name} already exists`);
    const p: Projection = {
      name,
      query: o.getQuery(),
      emitEnabled: o.getContinuous()!.getEmitEnabled(),
      compiled: undefined,
      enabled: true,
      faultReason: undefined,
      cursor: 0,
      states: new Map(),
      changed: new Set(),
      handledSinceCheckpoint: 0,
      eventsProcessed: 0,
      lastPosition: 0n,
      timer: undefined,
    };
    compile(p);
    projections.set(name, p);
    log.appendSystem('$projections-$all', '$ProjectionCreated', name);
    log.appendSystem(`$projections-${name}`, '$ProjectionUpdated', { query: p.query, emitEnabled: p.emitEnabled, mode: 'Continuous' });
    schedule(p);
    return new projectionsPb.CreateResp();
  });

  const update = unary((req: projectionsPb.UpdateReq) => {
    const o = req.getOptions()!;
    const p = get(o.getName());
    p.query = o.getQuery();
    if (o.hasEmitEnabled()) p.emitEnabled = o.getEmitEnabled();
    // Like the server, an update keeps state and checkpoint; a reset rebuilds from the start.
    compile(p);
    log.appendSystem(`$projections-${p.name}`, '$ProjectionUpdated', { query: p.query, emitEnabled: p.emitEnabled, mode: 'Continuous' });
    schedule(p);
    return new projectionsPb.UpdateResp();
  });

  const enable = unary((req: projectionsPb.EnableReq) => {
    const p = get(req.getOptions()!.getName());
    p.enabled = true;
    schedule(p);
    return new projectionsPb.EnableResp();
  });

  const disable = unary((req: projectionsPb.DisableReq) => {
    const p = get(req.getOptions()!.getName());
    p.enabled = false;
    return new projectionsPb.DisableResp();
  });

  const reset = unary((req: projectionsPb.ResetReq) => {
    const p = get(req.getOptions()!.getName());
    p.states.clear();
    p.cursor = 0;
    p.lastPosition = 0n;
    compile(p);
    schedule(p);
    return new projectionsPb.ResetResp();
  });

  const del = unary((req: projectionsPb.DeleteReq) => {
    const p = get(req.getOptions()!.getName());
    if (p.timer) clearTimeout(p.timer);
    projections.delete(p.name);
    return new projectionsPb.DeleteResp();
  });

  const state = unary((req: projectionsPb.StateReq) => {
    const o = req.getOptions()!;
    const p = get(o.getName());
    const resp = new projectionsPb.StateResp();
    const s = p.states.get(o.getPartition());
    resp.setState(structPb.Value.fromJavaScript(jsonValue(s) as structPb.JavaScriptValue));
    return resp;
  });

  const result = unary((req: projectionsPb.ResultReq) => {
    const o = req.getOptions()!;
    const p = get(o.getName());
    let value = p.states.get(o.getPartition());
    if (value !== undefined && p.compiled) {
      for (const step of p.compiled.definition.resultSteps) {
        if (step.kind === 'transform') value = p.compiled.call(step.fn, value);
        else value = p.compiled.call(step.fn, value) === true ? value : null;
      }
    }
    const resp = new projectionsPb.ResultResp();
    resp.setResult(structPb.Value.fromJavaScript(jsonValue(value) as structPb.JavaScriptValue));
    return resp;
  });

  const statistics = (call: grpc.ServerWritableStream<projectionsPb.StatisticsReq, projectionsPb.StatisticsResp>): void => {
    const o = call.request.getOptions()!;
    if (o.hasName()) {
      const p = projections.get(o.getName());
      if (!p) {
        call.emit('error', notFound(`Projection ${o.getName()}`));
        return;
      }
      call.write(details(p));
    } else if (o.hasAll() || o.hasContinuous()) {
      for (const p of projections.values()) call.write(details(p));
    }
    call.end();
  };

  return {
    service: {
      create,
      update,
      delete: del,
      statistics,
      disable,
      enable,
      reset,
      state,
      result,
      restartSubsystem: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(serverError(grpc.status.UNIMPLEMENTED, 'Not implemented by the test server')),
    } as grpc.UntypedServiceImplementation,
    stop() {
      stopped = true;
      offAppend();
      for (const p of projections.values()) if (p.timer) clearTimeout(p.timer);
    },
  };
}
