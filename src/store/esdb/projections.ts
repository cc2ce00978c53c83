import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { EngineError, ErrorCode, quote } from '../../errors.js';
import type { ProjectionReader } from '../../projector/reader.js';
import { mapEsdbError } from './errors.js';

/**
 * Server-side projections: the same `projections/*.js` files the embedded projector runs are
 * deployed to EventStoreDB as continuous user projections, and read back through
 * {@link ProjectionReader}.
 *
 * @see {@link https://developers.eventstore.com/server/v24.10/features/projections/ | projections}
 */

export interface DeployReport {
  created: string[];
  updated: string[];
}

export interface DeployOptions {
  /** Allow `emit`/`linkTo` (default false; our projections only keep state). */
  emitEnabled?: boolean;
}

/**
 * Creates or updates every `*.js` file in `dir` as a continuous projection named after the
 * file, then enables it. Existing projections are found with `listProjections()` rather than by
 * catching a failed create, whose status code differs between server versions.
 *
 * An update keeps the projection's state and checkpoint: when a handler's logic changes in a
 * way that needs a rebuild, reset the projection after deploying (docs/esdb.md).
 */
export async function deployProjections(client: EventStoreDBClient, dir: string, options: DeployOptions = {}): Promise<DeployReport> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.js')).sort();
  const report: DeployReport = { created: [], updated: [] };
  try {
    const existing = new Set((await client.listProjections()).map((p) => p.name));
    for (const file of files) {
      const name = basename(file, '.js');
      const query = await readFile(join(dir, file), 'utf8');
      if (existing.has(name)) {
        await client.updateProjection(name, query, options.emitEnabled === undefined ? {} : { emitEnabled: options.emitEnabled });
        report.updated.push(name);
      } else {
        await client.createProjection(name, query, { emitEnabled: options.emitEnabled ?? false });
        report.created.push(name);
      }
      await client.enableProjection(name);
    }
  } catch (err) {
    throw mapEsdbError(err);
  }
  return report;
}

/**
 * {@link ProjectionReader} over `getProjectionState(name, { partition })`. The server answers
 * a partition it has never seen with an empty value (null or `""`), read here as `undefined`.
 */
export class EsdbProjectionReader implements ProjectionReader {
  constructor(private readonly client: EventStoreDBClient) {}

  async getState<T>(name: string, partition?: string): Promise<T | undefined> {
    let state: unknown;
    try {
      state = await this.client.getProjectionState<unknown>(name, partition === undefined ? {} : { partition });
    } catch (err) {
      const mapped = mapEsdbError(err);
      if (mapped instanceof EngineError && mapped.code === ErrorCode.NOT_FOUND) {
        throw new EngineError(ErrorCode.PROJECTION_NOT_FOUND, `Projection ${quote(name)} does not exist on the server`, {
          cause: err,
          details: { projection: name },
        });
      }
      throw mapped;
    }
    if (state === null || state === undefined || state === '') return undefined;
    return state as T;
  }
}
