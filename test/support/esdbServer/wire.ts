import grpc from '@grpc/grpc-js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { LogRecord } from './eventLog.js';

/** Wire helpers shared by the fake services: ids, stream names, recorded events, errors. */

export function uuidToString(uuid: sharedPb.UUID | undefined): string {
  if (!uuid) return '';
  if (uuid.hasStructured()) {
    const s = uuid.getStructured()!;
    const buf = Buffer.alloc(16);
    buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(s.getMostSignificantBits())), 0);
    buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(s.getLeastSignificantBits())), 8);
    const h = buf.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  return uuid.getString();
}

export function stringUuid(id: string): sharedPb.UUID {
  const u = new sharedPb.UUID();
  u.setString(id);
  return u;
}

export function streamName(identifier: sharedPb.StreamIdentifier | undefined): string {
  return identifier ? Buffer.from(identifier.getStreamName_asU8()).toString('utf8') : '';
}

export function streamIdentifier(name: string): sharedPb.StreamIdentifier {
  const id = new sharedPb.StreamIdentifier();
  id.setStreamName(Buffer.from(name, 'utf8'));
  return id;
}

export function toReadEvent(r: LogRecord, withPosition: boolean): streamsPb.ReadResp {
  const rec = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  rec.setId(stringUuid(r.id));
  rec.setStreamIdentifier(streamIdentifier(r.streamId));
  rec.setStreamRevision(r.revision.toString());
  rec.setPreparePosition(r.position.toString());
  rec.setCommitPosition(r.position.toString());
  const meta = rec.getMetadataMap();
  meta.set('type', r.type);
  meta.set('content-type', r.contentType);
  meta.set('created', r.createdTicks.toString());
  rec.setData(r.data);
  rec.setCustomMetadata(r.metadata);
  const ev = new streamsPb.ReadResp.ReadEvent();
  ev.setEvent(rec);
  if (withPosition) ev.setCommitPosition(r.position.toString());
  else ev.setNoPosition(new sharedPb.Empty());
  const resp = new streamsPb.ReadResp();
  resp.setEvent(ev);
  return resp;
}

/** A gRPC error shaped like the server's: status plus the `exception` trailer the client maps. */
export function serverError(
  code: grpc.status,
  details: string,
  exception?: string,
  extra: Record<string, string> = {},
): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (exception) metadata.set('exception', exception);
  for (const [k, v] of Object.entries(extra)) metadata.set(k, v);
  return Object.assign(new Error(details), { code, details, metadata });
}

export function notFound(what: string): grpc.ServiceError {
  return serverError(grpc.status.NOT_FOUND, `${what} not found`);
}
