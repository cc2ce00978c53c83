import test from 'ava';
import type { EventRow } from '../../../src/store/sqlite/statements.js';
import { toRecordedEvent, toRevision } from '../../../src/store/sqlite/toRecordedEvent.js';

const row = (revision: number, position = 42): EventRow => [
  position,
  'flow-abc',
  revision,
  '0b6c7c1e-1f43-4d0e-8a4c-2a4f1d3c5e6f',
  'BrowserBound',
  '{"bindingHash":"h"}',
  '{"at":"2026-01-15T12:00:00.000Z","schemaVersion":1}',
  1_768_478_400_000,
];

test('a raw row decodes to the RecordedEvent shape, positions and revisions as bigints', (t) => {
  t.deepEqual(toRecordedEvent(row(3)), {
    streamId: 'flow-abc',
    id: '0b6c7c1e-1f43-4d0e-8a4c-2a4f1d3c5e6f',
    revision: 3n,
    position: { commit: 42n, prepare: 42n },
    type: 'BrowserBound',
    data: { bindingHash: 'h' },
    metadata: { at: '2026-01-15T12:00:00.000Z', schemaVersion: 1 },
    created: new Date(1_768_478_400_000),
  });
});

test('revisions are exact on both sides of the shared small-revision table', (t) => {
  for (const r of [0, 1, 1023, 1024, 1025, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
    t.is(toRevision(r), BigInt(r));
    t.is(toRecordedEvent(row(r)).revision, BigInt(r));
  }
});

test('every decoded event gets its own data, metadata and position objects', (t) => {
  const a = toRecordedEvent(row(1));
  const b = toRecordedEvent(row(1));
  t.not(a.data, b.data);
  t.not(a.metadata, b.metadata);
  t.not(a.position, b.position);
});
