import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProjectionSource } from './projectionRuntime.js';

/** The repository's `projections/` folder (the files EventStoreDB gets deployed too). */
export const DEFAULT_PROJECTIONS_DIR = fileURLToPath(new URL('../../projections/', import.meta.url));

/** Every `*.js` file of `dir`, named after the file (as `deployProjections` names them). */
export function loadProjectionFiles(dir: string = DEFAULT_PROJECTIONS_DIR): ProjectionSource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => ({ name: basename(f, '.js'), source: readFileSync(join(dir, f), 'utf8') }));
}
