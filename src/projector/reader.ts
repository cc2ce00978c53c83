/**
 * The query side's view of projection state, the same whether projections run in-process
 * (embedded store) or on EventStoreDB as its own JavaScript projections. Status, connection and
 * dashboard queries depend on this interface only.
 */
export interface ProjectionReader {
  /**
   * The state of projection `name`, for one partition (`foreachStream()` / `partitionBy()`
   * projections; the stream id for `foreachStream`) or the whole projection when omitted.
   * `undefined` when the projection has no state for it yet (no event handled, or not caught
   * up). Throws an `EngineError` with code `projection_not_found` for an unknown projection.
   */
  getState<T>(name: string, partition?: string): Promise<T | undefined>;
}
