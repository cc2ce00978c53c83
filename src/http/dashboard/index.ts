export { createDashboardRouter, type DashboardRouterOptions } from './router.js';
export { dashboardSummary, type DashboardSource, type DashboardSummary, type ProjectionLagView } from './summary.js';
