/**
 * The dashboard's script, bundled by esbuild (scripts/build-dashboard.mjs) into
 * dist/dashboard/assets/app.js, which the head serves at /assets/app.js.
 */
import { api, onUnauthorized } from './api.js';
import { add, byId, clear, h } from './dom.js';
import { viewJob } from './job-page.js';
import { viewJobs } from './jobs.js';
import { viewLog } from './log.js';
import { viewNode } from './node-page.js';
import { interceptLinks, render, route, updateView } from './router.js';
import { clusterTotals, onChange, S } from './state.js';
import { connect, loggedOut, startPolling } from './stream.js';
import { viewSubmit } from './submit.js';
import { viewWall } from './wall.js';

route(/^\/$/, 'wall', viewWall);
route(/^\/jobs\/?$/, 'jobs', viewJobs);
route(/^\/jobs\/new\/?$/, 'submit', viewSubmit);
route(/^\/log\/?$/, 'log', viewLog);
route(/^\/node\/(.+)$/, 'wall', viewNode);
route(/^\/job\/(.+)$/, 'jobs', viewJob);

/** The header's cluster summary. */
function paintTopStats(): void {
  const el = document.getElementById('top-stats');
  if (!el || !S.ready) return;
  const t = clusterTotals();
  let running = 0;
  S.jobs.forEach((j) => {
    if (j.state === 'running') running++;
  });
  clear(el);
  add(el, [
    h('span', null, [h('b', { text: t.online }), ' / ' + t.known + ' nodes']),
    h('span', null, [h('b', { text: t.busy }), ' / ' + t.slots + ' slots busy']),
    h('span', null, [h('b', { text: running }), running === 1 ? ' job running' : ' jobs running']),
  ]);
}

interface HaView {
  leader: string | null;
  epoch: string | null;
  candidates: { name: string; url: string; state: string }[];
  history: { name: string; epoch: string; at: number }[];
}

/** HA heads (docs/ha.md): which candidate leads, the others, the last elections; hidden on a single head. */
async function paintHa(): Promise<void> {
  const r = await api<HaView>('GET', '/api/ha').catch(() => null);
  const el = byId('ha');
  if (!r || !r.ok) {
    el.hidden = r?.status !== 503;
    if (!el.hidden) el.textContent = 'no leader (election in progress)';
    return;
  }
  const v = r.json;
  clear(el);
  add(el, ['leader ', h('b', { text: v.leader ?? 'none' }), v.epoch ? ` (epoch ${v.epoch})` : '', ' · ' + v.candidates.filter((c) => c.state !== 'down').length + '/' + v.candidates.length + ' heads up']);
  el.title =
    v.candidates.map((c) => `${c.name}: ${c.state} (${c.url})`).join('\n') +
    '\n\nelections:\n' +
    v.history.slice(-8).map((x) => `${new Date(x.at).toLocaleString()}  ${x.name} (epoch ${x.epoch})`).join('\n');
  el.hidden = false;
}

function start(): void {
  void paintHa().then(() => {
    // a single head has no /api/ha: poll only where there is one
    if (!byId('ha').hidden) setInterval(() => void paintHa(), 5000);
  });
  onUnauthorized(loggedOut);
  onChange((c) => {
    paintTopStats();
    updateView(c);
  });
  interceptLinks();
  render();
  void api<{ insecure?: boolean }>('GET', '/api/health').then((r) => {
    if (r.ok && r.json.insecure === true) byId('insecure').hidden = false;
  });
  if ('EventSource' in window) connect();
  else startPolling();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
