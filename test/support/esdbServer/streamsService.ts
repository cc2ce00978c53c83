import { randomUUID } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import statusPb from '@eventstore/db-client/generated/status_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';
import type { AppendOutcome, EventLog, Expected, LogRecord, ProposedEvent } from './eventLog.js';
import { serverError, streamIdentifier, streamName, stringUuid, toReadEvent, uuidToString } from './wire.js';

/** The server's filter checkpoint window (hard-coded to 32 events, EventStore PR #2608). */
const CHECKPOINT_WINDOW = 32;

export interface StreamsBehaviour {
  /** Servers before 23.10 never send `caughtUp`; tests turn it off to cover that path. */
  sendCaughtUp: boolean;
}

/** Live subscription calls, so a test can drop them like a server restart or overload would. */
export type LiveCalls = Set<grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>>;

type Predicate = (r: LogRecord) => boolean;

function buildFilter(options: streamsPb.ReadReq.Options): { match: Predicate; checkpointEvery: number } | undefined {
  if (!options.hasFilter()) return undefined;
  const f = options.getFilter()!;
  const onStream = f.hasStreamIdentifier();
  const expr = onStream ? f.getStreamIdentifier()! : f.getEventType()!;
  const prefixes = expr.getPrefixList();
  const regex = expr.getRegex() ? new RegExp(expr.getRegex()) : undefined;
  const match: Predicate = (r) => {
    const value = onStream ? r.streamId : r.type;
    if (regex) return regex.test(value);
    return prefixes.some((p) => value.startsWith(p));
  };
  return { match, checkpointEvery: Math.max(1, f.getCheckpointintervalmultiplier()) * CHECKPOINT_WINDOW };
}

function expectedFrom(
  c: 'revision' | 'no_stream' | 'any' | 'stream_exists',
  revision: string,
): Expected {
  return c === 'revision' ? BigInt(revision) : c;
}

function proposed(id: string, meta: Map<string, string>, data: Uint8Array, custom: Uint8Array): ProposedEvent {
  return {
    id,
    type: meta.get('type') ?? '',
    contentType: meta.get('content-type') ?? 'application/octet-stream',
    data,
    metadata: custom,
  };
}

function jspbMap(m: { forEach(cb: (v: string, k: string) => void): void }): Map<string, string> {
  const out = new Map<string, string>();
  m.forEach((v, k) => out.set(k, v));
  return out;
}

export function streamsService(log: EventLog, behaviour: StreamsBehaviour, live: LiveCalls): grpc.UntypedServiceImplementation {
  const read = (call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>): void => {
    const options = call.request.getOptions()!;
    const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
    const filter = buildFilter(options);

    if (options.hasSubscription()) {
      if (!options.hasAll()) {
        call.emit('error', serverError(grpc.status.UNIMPLEMENTED, 'Stream subscriptions are not implemented by the test server'));
        return;
      }
      subscribeAll(call, options, filter);
      return;
    }

    const count = options.hasCount() ? Number(BigInt(options.getCount())) : Number.MAX_SAFE_INTEGER;
    let out: LogRecord[] = [];
    if (options.hasStream()) {
      const so = options.getStream()!;
      const name = streamName(so.getStreamIdentifier());
      const events = log.stream(name);
      if (!events || events.length === 0) {
        const resp = new streamsPb.ReadResp();
        const nf = new streamsPb.ReadResp.StreamNotFound();
        nf.setStreamIdentifier(streamIdentifier(name));
        resp.setStreamNotFound(nf);
        call.write(resp);
        call.end();
        return;
      }
      if (backwards) {
        const from = so.hasEnd() ? events.length - 1 : so.hasStart() ? 0 : Math.min(Number(BigInt(so.getRevision())), events.length - 1);
        for (let i = from; i >= 0 && out.length < count; i--) out.push(events[i]!);
      } else {
        const from = so.hasEnd() ? events.length : so.hasStart() ? 0 : Number(BigInt(so.getRevision()));
        out = events.slice(from, from + count);
      }
      for (const r of out) call.write(toReadEvent(r, false));
    } else {
      const ao = options.getAll()!;
      const recs = log.records;
      const keep = (r: LogRecord): boolean => !filter || filter.match(r);
      if (backwards) {
        // Backwards from a position is exclusive of it, as on the server.
        let i = ao.hasEnd() ? recs.length - 1 : ao.hasStart() ? -1 : log.indexAtOrAfter(BigInt(ao.getPosition()!.getCommitPosition())) - 1;
        for (; i >= 0 && out.length < count; i--) if (keep(recs[i]!)) out.push(recs[i]!);
      } else {
        let i = ao.hasEnd() ? recs.length : ao.hasStart() ? 0 : log.indexAtOrAfter(BigInt(ao.getPosition()!.getCommitPosition()));
        for (; i < recs.length && out.length < count; i++) if (keep(recs[i]!)) out.push(recs[i]!);
      }
      for (const r of out) call.write(toReadEvent(r, true));
    }
    call.end();
  };

  const subscribeAll = (
    call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>,
    options: streamsPb.ReadReq.Options,
    filter: ReturnType<typeof buildFilter>,
  ): void => {
    const ao = options.getAll()!;
    let index = ao.hasStart()
      ? 0
      : ao.hasEnd()
        ? log.records.length
        : // Subscribing from a position is exclusive: delivery starts after it.
          log.indexAtOrAfter(BigInt(ao.getPosition()!.getCommitPosition()) + 1n);
    let scanned = 0;
    let caughtUp = false;
    let closed = false;

    const confirmation = new streamsPb.ReadResp();
    const conf = new streamsPb.ReadResp.SubscriptionConfirmation();
    conf.setSubscriptionId(randomUUID());
    confirmation.setConfirmation(conf);
    call.write(confirmation);

    const pump = (): void => {
      if (closed) return;
      const recs = log.records;
      while (index < recs.length) {
        const r = recs[index++]!;
        scanned++;
        if (!filter || filter.match(r)) call.write(toReadEvent(r, true));
        if (filter && scanned % filter.checkpointEvery === 0) {
          const cp = new streamsPb.ReadResp.Checkpoint();
          cp.setCommitPosition(r.position.toString());
          cp.setPreparePosition(r.position.toString());
          const resp = new streamsPb.ReadResp();
          resp.setCheckpoint(cp);
          call.write(resp);
        }
      }
      if (!caughtUp) {
        caughtUp = true;
        if (behaviour.sendCaughtUp) {
          const resp = new streamsPb.ReadResp();
          resp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
          call.write(resp);
        }
      }
    };
    // Live delivery is asynchronous, as on the server: an append is acknowledged before
    // subscribers see it.
    const off = log.onAppend(() => setImmediate(pump));
    live.add(call);
    const stop = (): void => {
      closed = true;
      off();
      live.delete(call);
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    setImmediate(pump);
  };

  const appendResult = (
    outcome: AppendOutcome,
    expected: Expected,
  ): { resp?: streamsPb.AppendResp; error?: grpc.ServiceError } => {
    const resp = new streamsPb.AppendResp();
    if (outcome.kind === 'too_large') {
      return {
        error: serverError(grpc.status.INVALID_ARGUMENT, `Maximum Append Size of ${outcome.max} Exceeded.`, 'maximum-append-size-exceeded', {
          'maximum-append-size': String(outcome.max),
        }),
      };
    }
    if (outcome.kind === 'wrong_expected_version') {
      const w = new streamsPb.AppendResp.WrongExpectedVersion();
      if (outcome.current === undefined) w.setCurrentNoStream(new sharedPb.Empty());
      else w.setCurrentRevision(outcome.current.toString());
      if (expected === 'any') w.setExpectedAny(new sharedPb.Empty());
      else if (expected === 'no_stream') w.setExpectedNoStream(new sharedPb.Empty());
      else if (expected === 'stream_exists') w.setExpectedStreamExists(new sharedPb.Empty());
      else w.setExpectedRevision(expected.toString());
      resp.setWrongExpectedVersion(w);
      return { resp };
    }
    const s = new streamsPb.AppendResp.Success();
    if (outcome.revision < 0n) s.setNoStream(new sharedPb.Empty());
    else s.setCurrentRevision(outcome.revision.toString());
    if (outcome.kind === 'ok') {
      const p = new streamsPb.AppendResp.Position();
      p.setCommitPosition(outcome.position.toString());
      p.setPreparePosition(outcome.position.toString());
      s.setPosition(p);
    } else {
      // An idempotent write is acknowledged without a log position.
      s.setNoPosition(new sharedPb.Empty());
    }
    resp.setSuccess(s);
    return { resp };
  };

  const append = (call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>, callback: grpc.sendUnaryData<streamsPb.AppendResp>): void => {
    let stream = '';
    let expected: Expected = 'any';
    const events: ProposedEvent[] = [];
    call.on('data', (req: streamsPb.AppendReq) => {
      if (req.hasOptions()) {
        const o = req.getOptions()!;
        stream = streamName(o.getStreamIdentifier());
        const c = o.hasRevision() ? 'revision' : o.hasNoStream() ? 'no_stream' : o.hasStreamExists() ? 'stream_exists' : 'any';
        expected = expectedFrom(c, o.getRevision());
      } else if (req.hasProposedMessage()) {
        const m = req.getProposedMessage()!;
        events.push(proposed(uuidToString(m.getId()), jspbMap(m.getMetadataMap()), m.getData_asU8(), m.getCustomMetadata_asU8()));
      }
    });
    call.on('end', () => {
      const { resp, error } = appendResult(log.append(stream, expected, events), expected);
      if (error) callback(error);
      else callback(null, resp!);
    });
  };

  const batchAppend = (call: grpc.ServerDuplexStream<streamsPb.BatchAppendReq, streamsPb.BatchAppendResp>): void => {
    const pending = new Map<string, { stream: string; expected: Expected; options: streamsPb.BatchAppendReq.Options; events: ProposedEvent[] }>();
    call.on('data', (req: streamsPb.BatchAppendReq) => {
      const correlation = uuidToString(req.getCorrelationId());
      let entry = pending.get(correlation);
      if (!entry) {
        const o = req.getOptions()!;
        const c = o.hasStreamPosition() ? 'revision' : o.hasNoStream() ? 'no_stream' : o.hasStreamExists() ? 'stream_exists' : 'any';
        entry = { stream: streamName(o.getStreamIdentifier()), expected: expectedFrom(c, o.getStreamPosition()), options: o, events: [] };
        pending.set(correlation, entry);
      }
      for (const m of req.getProposedMessagesList()) {
        entry.events.push(proposed(uuidToString(m.getId()), jspbMap(m.getMetadataMap()), m.getData_asU8(), m.getCustomMetadata_asU8()));
      }
      if (!req.getIsFinal()) return;
      pending.delete(correlation);

      const resp = new streamsPb.BatchAppendResp();
      resp.setCorrelationId(stringUuid(correlation));
      resp.setStreamIdentifier(streamIdentifier(entry.stream));
      const ex = entry.expected;
      if (ex === 'any') resp.setAny(new emptyPb.Empty());
      else if (ex === 'no_stream') resp.setNoStream(new emptyPb.Empty());
      else if (ex === 'stream_exists') resp.setStreamExists(new emptyPb.Empty());
      else resp.setStreamPosition(ex.toString());

      const outcome = log.append(entry.stream, ex, entry.events);
      if (outcome.kind === 'too_large' || outcome.kind === 'wrong_expected_version') {
        const status = new statusPb.Status();
        const details = new anyPb.Any();
        if (outcome.kind === 'too_large') {
          const m = new sharedPb.MaximumAppendSizeExceeded();
          m.setMaxappendsize(outcome.max);
          details.pack(m.serializeBinary(), 'event_store.client.MaximumAppendSizeExceeded');
          status.setCode(3);
          status.setMessage(`Maximum Append Size of ${outcome.max} Exceeded.`);
        } else {
          const w = new sharedPb.WrongExpectedVersion();
          if (outcome.current === undefined) w.setCurrentNoStream(new emptyPb.Empty());
          else w.setCurrentStreamRevision(outcome.current.toString());
          if (ex === 'any') w.setExpectedAny(new emptyPb.Empty());
          else if (ex === 'no_stream') w.setExpectedNoStream(new emptyPb.Empty());
          else if (ex === 'stream_exists') w.setExpectedStreamExists(new emptyPb.Empty());
          else w.setExpectedStreamPosition(ex.toString());
          details.pack(w.serializeBinary(), 'event_store.client.WrongExpectedVersion');
          status.setCode(9);
          status.setMessage('Wrong expected version.');
        }
        status.setDetails(details);
        resp.setError(status);
      } else {
        const s = new streamsPb.BatchAppendResp.Success();
        if (outcome.revision < 0n) s.setNoStream(new emptyPb.Empty());
        else s.setCurrentRevision(outcome.revision.toString());
        if (outcome.kind === 'ok') {
          const p = new sharedPb.AllStreamPosition();
          p.setCommitPosition(outcome.position.toString());
          p.setPreparePosition(outcome.position.toString());
          s.setPosition(p);
        } else {
          s.setNoPosition(new emptyPb.Empty());
        }
        resp.setSuccess(s);
      }
      call.write(resp);
    });
    call.on('end', () => call.end());
  };

  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>): void => {
    callback(serverError(grpc.status.UNIMPLEMENTED, 'Not implemented by the test server'));
  };

  return { read, append, batchAppend, delete: unimplemented, tombstone: unimplemented } as grpc.UntypedServiceImplementation;
}
