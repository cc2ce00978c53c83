import type { ProjectionInfo } from '../../projector/projector.js';
import { PROJECTION, type ClientHealthState, type FlowsOverviewState } from '../../projector/projectionStates.js';
import type { ProjectionReader } from '../../projector/reader.js';

/** What the dashboard reads: any projection reader; `list()` (lag) when the projector is embedded. */
export type DashboardSource = ProjectionReader & { list?(): Promise<ProjectionInfo[]> };

export interface ProjectionLagView {
  name: string;
  status: string;
  reason: string | null;
  position: string | null;
  checkpoint: string | null;
  lag: number;
}

/** Everything the page shows, as JSON (positions as strings: they are bigints). */
export interface DashboardSummary {
  flows: Omit<FlowsOverviewState, 'open'> | null;
  clients: ClientHealthState | null;
  projections: ProjectionLagView[] | null;
}

export async function flowsSummary(source: DashboardSource): Promise<DashboardSummary['flows']> {
  const s = await source.getState<FlowsOverviewState>(PROJECTION.flowsOverview);
  if (!s) return null;
  // The open-flow map is bookkeeping for the projection, not a figure.
  const { open: _open, ...figures } = s;
  return figures;
}

export async function clientsSummary(source: DashboardSource): Promise<DashboardSummary['clients']> {
  return (await source.getState<ClientHealthState>(PROJECTION.clientHealth)) ?? null;
}

export async function projectionsSummary(source: DashboardSource): Promise<DashboardSummary['projections']> {
  if (!source.list) return null;
  return (await source.list()).map((p) => ({
    name: p.name,
    status: p.status,
    reason: p.reason,
    position: p.position ? String(p.position.commit) : null,
    checkpoint: p.checkpoint ? String(p.checkpoint.commit) : null,
    lag: p.lag,
  }));
}

export async function dashboardSummary(source: DashboardSource): Promise<DashboardSummary> {
  const [flows, clients, projections] = await Promise.all([flowsSummary(source), clientsSummary(source), projectionsSummary(source)]);
  return { flows, clients, projections };
}
