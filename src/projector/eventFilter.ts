import type { RecordedEvent } from '../store/types.js';
import type { QueryDefinition } from './definition.js';

/** Whether a projection reads an event, given the event's category (computed once per event by the caller). */
export type EventFilter = (e: RecordedEvent, category: string) => boolean;

/**
 * Compiles a query's selector and handler names into one test per event: a handler for the
 * type (or `$any`) and a selector covering the stream, as {@link selects} decides. Types are
 * few and handlers never change after the file ran, so the type test is cached for the life
 * of the definition; categories and stream ids are looked up in sets, not lists.
 */
export function compileEventFilter(d: QueryDefinition): EventFilter {
  const h = d.handlers;
  const any = !!h && Object.hasOwn(h, '$any');
  const byType = new Map<string, boolean>();
  const typeHandled = (type: string): boolean => {
    let has = byType.get(type);
    if (has === undefined) {
      has = any || (!!h && Object.hasOwn(h, type));
      byType.set(type, has);
    }
    return has;
  };
  const s = d.selector;
  switch (s.kind) {
    case 'all':
      return (e) => typeHandled(e.type);
    case 'categories': {
      const categories = new Set(s.categories);
      return (e, category) => categories.has(category) && typeHandled(e.type);
    }
    case 'streams': {
      const streams = new Set(s.streams);
      return (e) => streams.has(e.streamId) && typeHandled(e.type);
    }
  }
}

/** Category of each event of a batch, as `categoryOf` (first `-`), computed once for every projection. */
export function categoriesOf(batch: readonly RecordedEvent[]): string[] {
  const out = new Array<string>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const id = batch[i]!.streamId;
    const dash = id.indexOf('-');
    out[i] = dash < 0 ? id : id.slice(0, dash);
  }
  return out;
}
