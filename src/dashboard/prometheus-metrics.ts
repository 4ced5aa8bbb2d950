import type { ClusterReadModel, NodeState } from '../ports/index.js';

const NODE_STATES: readonly NodeState[] = ['ready', 'draining', 'stale', 'lost', 'gone'];
const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;

export interface DashboardStats {
  clients: number;
  congested: number;
  deltasSent: number;
  deltasDropped: number;
  snapshotsSent: number;
  /** Streams closed because they did not keep up (issue 17, item 8). */
  dropped?: number;
}

/** A label value in the text format: backslash, double quote and newline escaped. */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

class Exposition {
  private readonly lines: string[] = [];
  metric(name: string, type: 'gauge' | 'counter', help: string, samples: [Record<string, string>, number][]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const keys = Object.keys(labels);
      const l = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${esc(labels[k] as string)}"`).join(',')}}`;
      this.lines.push(`${name}${l} ${num(value)}`);
    }
  }
  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

/**
 * The head in Prometheus text format (version 0.0.4): nodes, slots, temperatures, chunks by state,
 * result and lease counters, so a Grafana the user already runs can chart the cluster.
 */
export function prometheusMetrics(head: ClusterReadModel, dash: DashboardStats): string {
  const x = new Exposition();
  const nodes = head.nodeList();
  const byState = new Map<NodeState, number>(NODE_STATES.map((s) => [s, 0]));
  for (const n of nodes) byState.set(n.state, (byState.get(n.state) ?? 0) + 1);
  x.metric('bramble_nodes', 'gauge', 'Worker nodes the head knows, by state.', NODE_STATES.map((s) => [{ state: s }, byState.get(s) ?? 0]));
  x.metric('bramble_connected_workers', 'gauge', 'Authenticated worker connections.', [[{}, head.connectedWorkers()]]);
  const live = nodes.filter((n) => n.connected && n.state !== 'gone');
  x.metric('bramble_slots_total', 'gauge', 'Compute slots of connected workers.', [[{}, live.reduce((s, n) => s + n.slots, 0)]]);
  x.metric('bramble_slots_busy', 'gauge', 'Slots of connected workers computing a chunk.', [[{}, live.reduce((s, n) => s + Math.min(n.busy, n.slots), 0)]]);
  x.metric('bramble_leases_active', 'gauge', 'Chunks leased to workers, prefetched ones included.', [[{}, nodes.reduce((s, n) => s + n.busy, 0)]]);

  const reporting = nodes.filter((n) => n.state !== 'lost' && n.state !== 'gone');
  const label = (n: (typeof nodes)[number]): Record<string, string> => ({ node: n.name, id: n.id });
  x.metric(
    'bramble_node_temperature_celsius',
    'gauge',
    'CPU temperature of each reporting node (nodes without a sensor are left out).',
    reporting.filter((n) => n.telemetry.temp !== undefined).map((n) => [label(n), n.telemetry.temp as number]),
  );
  x.metric('bramble_node_cpu_percent', 'gauge', 'CPU use of each reporting node.', reporting.filter((n) => n.telemetry.cpu !== undefined).map((n) => [label(n), n.telemetry.cpu as number]));
  x.metric(
    'bramble_node_numbers_per_second',
    'gauge',
    'Numbers of job ranges each reporting node covers per second.',
    reporting.filter((n) => n.telemetry.rate !== undefined).map((n) => [label(n), n.telemetry.rate as number]),
  );
  x.metric('bramble_node_slots_busy', 'gauge', 'Slots of each reporting node computing a chunk.', reporting.map((n) => [label(n), Math.min(n.busy, n.slots)]));
  x.metric('bramble_node_throttled', 'gauge', 'Raspberry Pi throttling flags (vcgencmd get_throttled) of each reporting Pi.', reporting.filter((n) => n.telemetry.throttled !== undefined).map((n) => [label(n), n.telemetry.throttled as number]));

  const jobs = head.listJobs();
  const jobStates = new Map<string, number>(JOB_STATES.map((s) => [s, 0]));
  for (const j of jobs) jobStates.set(j.state, (jobStates.get(j.state) ?? 0) + 1);
  x.metric('bramble_jobs', 'gauge', 'Jobs in the journal, by state.', [...jobStates].map(([s, v]) => [{ state: s }, v]));
  const active = head.activeJobs();
  const chunkSamples: [Record<string, string>, number][] = [];
  const progress: [Record<string, string>, number][] = [];
  for (const j of active) {
    const c = head.counts(j.id);
    for (const s of ['pending', 'leased', 'done', 'failed'] as const) chunkSamples.push([{ job: j.id, task: j.task, state: s }, c[s]]);
    progress.push([{ job: j.id, task: j.task }, c.total === 0 ? 1 : (c.done + c.failed) / c.total]);
  }
  x.metric('bramble_job_chunks', 'gauge', 'Chunks of each unfinished job, by state.', chunkSamples);
  x.metric('bramble_job_progress_ratio', 'gauge', 'Finished share of each unfinished job (0 to 1).', progress);

  const st = head.ledgerStats;
  x.metric('bramble_results_received_total', 'counter', 'Result messages received from workers.', [[{}, head.counters.resultsIn]]);
  x.metric('bramble_results_accepted_total', 'counter', 'Chunk results committed to the journal.', [[{}, st.accepted]]);
  x.metric('bramble_results_duplicate_total', 'counter', 'Results dropped because the chunk was already done.', [[{}, st.duplicates]]);
  x.metric('bramble_results_rejected_total', 'counter', 'Results rejected (stale lease, cancelled job, bad token).', [[{}, st.rejected]]);
  x.metric('bramble_leases_expired_total', 'counter', 'Leases that reached their deadline without a heartbeat.', [[{}, st.expired]]);
  x.metric('bramble_backup_leases_total', 'counter', 'Backup copies of slow chunks handed out (speculation).', [[{}, st.backups]]);
  x.metric('bramble_bad_messages_total', 'counter', 'Invalid messages from workers (the connection was closed).', [[{}, head.counters.badMessages]]);
  x.metric('bramble_auth_failures_total', 'counter', 'Workers refused for a wrong join token.', [[{}, head.counters.authFailures]]);

  x.metric('bramble_dashboard_clients', 'gauge', 'Open dashboard live streams.', [[{}, dash.clients]]);
  x.metric('bramble_dashboard_clients_congested', 'gauge', 'Dashboard streams whose socket buffer is full.', [[{}, dash.congested]]);
  x.metric('bramble_dashboard_deltas_sent_total', 'counter', 'Live updates written to dashboard streams.', [[{}, dash.deltasSent]]);
  x.metric('bramble_dashboard_deltas_dropped_total', 'counter', 'Live updates skipped for slow dashboard streams (a snapshot follows).', [[{}, dash.deltasDropped]]);
  x.metric('bramble_dashboard_snapshots_sent_total', 'counter', 'Whole snapshots written to dashboard streams.', [[{}, dash.snapshotsSent]]);
  x.metric('bramble_dashboard_streams_dropped_total', 'counter', 'Dashboard streams closed because they did not read (told to resync).', [[{}, dash.dropped ?? 0]]);
  return x.text();
}
