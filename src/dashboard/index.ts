export { dashboardRoutes, DASHBOARD_PAGES } from './dashboard-routes.js';
export type { DashboardOptions } from './dashboard-routes.js';
export { temperatureColour, TEMPERATURE_STOPS } from './temperature-colour.js';
export { ClusterViews } from './cluster-views.js';
export type { NodeView, JobView, Snapshot, Delta } from './cluster-views.js';
export { StreamHub } from './stream-hub.js';
export type { StreamSink, StreamSource, StreamHubOptions } from './stream-hub.js';
export { prometheusMetrics } from './prometheus-metrics.js';
