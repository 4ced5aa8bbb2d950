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

function start(): void {
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
