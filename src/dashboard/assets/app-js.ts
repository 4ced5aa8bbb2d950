import { TEMPERATURE_STOPS, temperatureColour } from '../temperature-colour.js';

/**
 * The dashboard's script: plain browser JavaScript (no framework, no build step), kept as a raw
 * string. Rules for editing it: no backticks and no dollar-brace inside (it is a String.raw
 * template), and every DOM write goes through textContent or CSSOM, never innerHTML, so node names
 * and log messages from the network cannot inject markup.
 */
const BODY = String.raw`

// ---------------------------------------------------------------- helpers
var SVGNS = 'http://www.w3.org/2000/svg';
function h(tag, attrs, kids) {
  var el = document.createElement(tag);
  setAttrs(el, attrs);
  if (kids !== undefined && kids !== null) add(el, kids);
  return el;
}
function sv(tag, attrs, kids) {
  var el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  if (kids !== undefined && kids !== null) add(el, kids);
  return el;
}
function setAttrs(el, attrs) {
  if (!attrs) return;
  for (var k in attrs) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}
function add(el, kids) {
  if (!Array.isArray(kids)) kids = [kids];
  for (var i = 0; i < kids.length; i++) {
    var c = kids[i];
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}
function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
function setText(el, t) { t = t === null || t === undefined ? '' : String(t); if (el.textContent !== t) el.textContent = t; }
function digits(str) { return String(str).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
function fmtInt(v) {
  if (v === null || v === undefined || v === '') return '–';
  if (typeof v === 'number') { if (!isFinite(v)) return '–'; v = Math.round(v).toString(); }
  return digits(v);
}
function fmtSI(v) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  var a = Math.abs(v);
  var units = [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (var i = 0; i < units.length; i++) {
    var u = units[i];
    if (a >= u[0]) { var x = v / u[0]; return x.toFixed(Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2) + ' ' + u[1]; }
  }
  return a >= 100 || a === 0 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}
function fmtAxis(v) { return fmtSI(v).replace(/\.0+( |$)/, '$1').replace(/(\.\d*?)0+( |$)/, '$1$2'); }
function fmtRate(v, unit) { return v === null || v === undefined ? '–' : fmtSI(v) + (unit || '') + '/s'; }
function fmtDuration(sec) {
  if (sec === null || sec === undefined || !isFinite(sec) || sec < 0) return '–';
  if (sec < 9.95) return sec.toFixed(1) + ' s';
  sec = Math.round(sec);
  if (sec < 60) return sec + ' s';
  if (sec < 3600) return Math.floor(sec / 60) + ' min' + (sec % 60 && sec < 600 ? ' ' + (sec % 60) + ' s' : '');
  if (sec < 86400) return Math.floor(sec / 3600) + ' h ' + Math.floor((sec % 3600) / 60) + ' min';
  return Math.floor(sec / 86400) + ' d ' + Math.floor((sec % 86400) / 3600) + ' h';
}
function serverNow() { return Date.now() + S.skew; }
function fmtAgo(t) { if (!t) return '–'; var s = (serverNow() - t) / 1000; return s < 2 ? 'just now' : fmtDuration(s) + ' ago'; }
function fmtClock(t) { var d = new Date(t); return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }); }
function fmtPct(p) { if (p === null || p === undefined) return '–'; if (p >= 1) return '100%'; return (Math.floor(p * 1000) / 10).toFixed(1) + '%'; }
function fmtBytes(b) { if (b === null || b === undefined) return '–'; return fmtSI(b) + (b >= 1000 ? 'B' : ' B'); }
function fmtTemp(t) { return t === null || t === undefined ? '–' : t.toFixed(1) + ' °C'; }
function big(v) { return typeof v === 'string' && v.length > 15 ? v : fmtInt(v); }
function textOn(rgb) {
  var m = /(\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
  if (!m) return '#fff';
  var l = (0.299 * +m[1] + 0.587 * +m[2] + 0.114 * +m[3]) / 255;
  return l > 0.6 ? '#0b1020' : '#ffffff';
}
var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
function naturalCompare(a, b) { return collator.compare(a, b); }
function api(method, path, body) {
  var init = { method: method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
  return fetch(path, init).then(function (r) {
    if (r.status === 401) loggedOut();
    return r.text().then(function (t) {
      var j = null;
      try { j = t ? JSON.parse(t) : null; } catch (e) { j = { error: { code: 'BAD_REPLY', message: t.slice(0, 200) } }; }
      return { status: r.status, ok: r.ok, json: j };
    });
  });
}
function throttle(fn, ms) {
  var last = 0, timer = null;
  return function () {
    var wait = last + ms - Date.now();
    if (wait <= 0) { last = Date.now(); fn(); }
    else if (!timer) timer = setTimeout(function () { timer = null; last = Date.now(); fn(); }, wait);
  };
}
function taskTitle(j) {
  if (j.task === 'life') {
    var p = j.params || {};
    return 'life ' + p.width + '×' + p.height + ', ' + fmtInt(p.generations) + ' generations';
  }
  if (j.task === 'noop') return 'noop × ' + fmtInt(j.chunks.total);
  return j.task + ' ' + fmtInt(j.start) + ' … ' + fmtInt(j.end);
}
function badge(state) { return h('span', { class: 'badge st-' + state, text: state }); }

// ---------------------------------------------------------------- state
var S = { nodes: new Map(), jobs: new Map(), events: [], staleMs: 15000, lostMs: 60000, head: '', skew: 0, ready: false };
var MAX_EVENTS = 1000;
var view = null;

function applySnapshot(snap) {
  S.nodes = new Map();
  snap.nodes.forEach(function (n) { S.nodes.set(n.id, n); });
  S.jobs = new Map();
  snap.jobs.forEach(function (j) { S.jobs.set(j.id, j); });
  S.events = snap.events.slice(-MAX_EVENTS);
  S.staleMs = snap.staleMs; S.lostMs = snap.lostMs; S.head = snap.head;
  S.skew = snap.now - Date.now();
  S.ready = true;
  changed({ full: true, nodes: [], jobs: [], events: [] });
}
function applyDelta(d) {
  S.skew = d.now - Date.now();
  d.nodes.forEach(function (n) { S.nodes.set(n.id, n); });
  d.jobs.forEach(function (j) { S.jobs.set(j.id, j); });
  if (d.events.length) {
    S.events = S.events.concat(d.events);
    if (S.events.length > MAX_EVENTS) S.events = S.events.slice(-MAX_EVENTS);
  }
  changed({ full: false, nodes: d.nodes.map(function (n) { return n.id; }), jobs: d.jobs.map(function (j) { return j.id; }), events: d.events });
}
function changed(c) {
  paintTopStats();
  if (view && view.update) view.update(c);
}
function clusterTotals() {
  var t = { online: 0, known: 0, slots: 0, busy: 0, rate: 0, temps: 0, tempSum: 0, hottest: null };
  S.nodes.forEach(function (n) {
    if (n.state === 'gone') return;
    t.known++;
    if (n.state !== 'ready' && n.state !== 'draining') return;
    t.online++; t.slots += n.slots; t.busy += n.busy; t.rate += n.rate || 0;
    if (n.temp !== null) { t.temps++; t.tempSum += n.temp; if (!t.hottest || n.temp > t.hottest.temp) t.hottest = n; }
  });
  return t;
}
function paintTopStats() {
  var el = document.getElementById('top-stats');
  if (!el || !S.ready) return;
  var t = clusterTotals();
  var running = 0;
  S.jobs.forEach(function (j) { if (j.state === 'running') running++; });
  clear(el);
  add(el, [
    h('span', null, [h('b', { text: t.online }), ' / ' + t.known + ' nodes']),
    h('span', null, [h('b', { text: t.busy }), ' / ' + t.slots + ' slots busy']),
    h('span', null, [h('b', { text: running }), running === 1 ? ' job running' : ' jobs running']),
  ]);
}

// ---------------------------------------------------------------- live connection
var es = null, pollTimer = null, errorsInRow = 0, retryTimer = null;
function setConn(state, text) {
  var el = document.getElementById('conn');
  el.setAttribute('data-state', state);
  setText(el.querySelector('.conn-text'), text || state);
}
function connect() {
  if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
  if (es) es.close();
  es = new EventSource('/api/stream');
  es.addEventListener('snapshot', function (e) {
    errorsInRow = 0;
    setConn('live');
    stopPolling();
    applySnapshot(JSON.parse(e.data));
  });
  es.addEventListener('delta', function (e) { applyDelta(JSON.parse(e.data)); });
  es.onerror = function () {
    errorsInRow++;
    if (es.readyState === 2 || errorsInRow >= 3) {
      // the stream is refused or keeps failing: poll until it comes back
      es.close(); es = null;
      setConn('polling', 'polling');
      startPolling();
      retryTimer = setTimeout(connect, 15000);
    } else setConn('reconnecting');
  };
}
function startPolling() { if (pollTimer) return; pollOnce(); pollTimer = setInterval(pollOnce, 5000); }
function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }
function pollOnce() {
  api('GET', '/api/dashboard/snapshot').then(function (r) { if (r.ok) applySnapshot(r.json); }, function () { setConn('reconnecting', 'offline'); });
}
function loggedOut() {
  document.getElementById('logged-out').hidden = false;
  if (es) { es.close(); es = null; }
  stopPolling();
  if (retryTimer) clearTimeout(retryTimer);
  setConn('connecting', 'logged out');
}

// ---------------------------------------------------------------- router
var routes = [
  [/^\/$/, 'wall', viewWall],
  [/^\/jobs\/?$/, 'jobs', viewJobs],
  [/^\/jobs\/new\/?$/, 'submit', viewSubmit],
  [/^\/log\/?$/, 'log', viewLog],
  [/^\/node\/(.+)$/, 'wall', viewNode],
  [/^\/job\/(.+)$/, 'jobs', viewJob],
];
function navigate(path) {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  render();
}
function render() {
  if (view && view.destroy) view.destroy();
  view = null;
  var main = document.getElementById('view');
  clear(main);
  main.className = '';
  var path = location.pathname;
  for (var i = 0; i < routes.length; i++) {
    var m = routes[i][0].exec(path);
    if (!m) continue;
    document.querySelectorAll('.nav a').forEach(function (a) { a.classList.toggle('active', a.getAttribute('data-nav') === routes[i][1]); });
    var arg = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    view = routes[i][2](main, arg) || null;
    if (view && view.update && S.ready) view.update({ full: true, nodes: [], jobs: [], events: [] });
    window.scrollTo(0, 0);
    return;
  }
  add(main, h('div', { class: 'empty', text: 'No such page.' }));
}
document.addEventListener('click', function (e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  var a = e.target.closest ? e.target.closest('a') : null;
  if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
  if (/^\/(api|metrics|assets|login)/.test(a.pathname)) return;
  e.preventDefault();
  navigate(a.pathname);
});
window.addEventListener('popstate', render);

// ---------------------------------------------------------------- node wall
var STATE_LABEL = { stale: 'STALE', lost: 'LOST', gone: 'LEFT', draining: 'DRAINING' };
function viewWall(root) {
  root.className = 'view-wall';
  function kpi(label) {
    var v = h('div', { class: 'kpi-value' });
    var sub = h('div', { class: 'kpi-sub' });
    return { el: h('div', { class: 'kpi' }, [h('div', { class: 'kpi-label', text: label }), v, sub]), v: v, sub: sub };
  }
  var k = { nodes: kpi('Nodes online'), slots: kpi('Slots busy'), rate: kpi('Numbers / second'), temp: kpi('Temperature') };
  var hideOff = h('input', { type: 'checkbox', id: 'hide-offline' });
  var legend = temperatureLegend(hideOff);
  var grid = h('div', { class: 'wall-grid', id: 'wall' });
  var empty = h('div', { class: 'empty wall-empty', hidden: true }, [
    h('div', { text: 'Waiting for workers to join.' }),
    h('div', null, ['On each worker run the line ', h('code', { text: 'bramble head' }), ' printed: ', h('code', { text: 'bramble worker --head HOST:7070 --join TOKEN' })]),
  ]);
  var running = h('section', { class: 'running', id: 'running' });
  add(root, [h('section', { class: 'wall-bar' }, [h('div', { class: 'kpis' }, [k.nodes.el, k.slots.el, k.rate.el, k.temp.el]), legend]), grid, empty, running]);
  var tiles = new Map();
  var order = '';
  var dims = '';
  hideOff.addEventListener('change', function () { sync(true); });

  function makeTile(n) {
    var t = {
      name: h('div', { class: 't-name' }), temp: h('div', { class: 't-temp' }), addr: h('div', { class: 't-addr' }),
      pips: h('span', { class: 'pips' }), slotsText: h('span', { class: 't-slots' }), rate: h('span', { class: 't-rate' }), badge: h('div', { class: 't-badge' }), key: '',
    };
    t.el = h('a', { class: 'tile', href: '/node/' + encodeURIComponent(n.id) }, [t.badge, t.name, t.temp, t.addr, h('div', { class: 't-foot' }, [t.pips, t.slotsText, t.rate])]);
    return t;
  }
  function paintTile(t, n) {
    var key = [n.name, n.temp, n.state, n.address, n.busy, n.slots, n.rate === null ? '' : fmtSI(n.rate), n.hot].join('|');
    if (key === t.key) return;
    t.key = key;
    var bg = temperatureColour(n.temp);
    t.el.style.backgroundColor = bg;
    t.el.style.color = textOn(bg);
    t.el.className = 'tile s-' + n.state + (n.temp === null ? ' no-temp' : '') + (n.hot && n.state === 'ready' ? ' hot' : '') + (dims.compact ? ' compact' : '');
    t.el.setAttribute('data-id', n.id);
    t.el.setAttribute('data-state', n.state);
    t.el.setAttribute('data-temp', n.temp === null ? '' : String(n.temp));
    t.el.setAttribute('data-busy', String(n.busy));
    t.el.setAttribute('data-slots', String(n.slots));
    t.el.title = n.name + ' (' + n.address + ')\n' + (n.temp === null ? 'no temperature sensor' : fmtTemp(n.temp)) + '\n' + n.busy + ' of ' + n.slots + ' slots busy' + (n.rate ? '\n' + fmtRate(n.rate) : '') + '\n' + n.state + (n.hot ? '\nhot or throttled: gets fewer chunks' : '');
    setText(t.name, n.name);
    setText(t.temp, n.temp === null ? 'no sensor' : n.temp.toFixed(1) + '°');
    setText(t.addr, n.address && n.address !== n.name ? n.address : '');
    if (n.slots > 0 && n.slots <= 8) {
      if (t.pips.childNodes.length !== n.slots) { clear(t.pips); for (var i = 0; i < n.slots; i++) t.pips.appendChild(h('i')); }
      for (var j = 0; j < n.slots; j++) t.pips.childNodes[j].className = j < n.busy ? 'on' : '';
      setText(t.slotsText, '');
    } else {
      clear(t.pips);
      setText(t.slotsText, n.busy + '/' + n.slots);
    }
    setText(t.rate, n.rate ? fmtSI(n.rate) + '/s' : '');
    setText(t.badge, STATE_LABEL[n.state] || (n.hot ? 'HOT' : ''));
  }
  function visible() {
    var list = [];
    // a worker that restarted comes back as a new node: hide its old, offline self
    var online = new Set();
    S.nodes.forEach(function (n) { if (n.state === 'ready' || n.state === 'draining') online.add(n.name + '#' + n.instance + '@' + n.address); });
    S.nodes.forEach(function (n) {
      var off = n.state !== 'ready' && n.state !== 'draining';
      if (off && (hideOff.checked || online.has(n.name + '#' + n.instance + '@' + n.address))) return;
      if (n.state === 'gone' && serverNow() - n.lastSeen > 3600000) return;
      list.push(n);
    });
    list.sort(function (a, b) { return naturalCompare(a.name, b.name) || naturalCompare(a.id, b.id); });
    return list;
  }
  function layout(count) {
    var W = grid.clientWidth || root.clientWidth;
    var top = grid.getBoundingClientRect().top + window.scrollY;
    var H = window.innerHeight - top - running.offsetHeight - 22;
    var gap = count > 150 ? 6 : count > 40 ? 8 : 12;
    var best = null;
    for (var cols = 1; cols <= Math.max(1, count); cols++) {
      var rows = Math.ceil(count / cols);
      var w = (W - gap * (cols - 1)) / cols;
      var hh = (H - gap * (rows - 1)) / rows;
      var th = Math.min(hh, w / 1.12, 190);
      if (!best || th > best.th) best = { cols: cols, th: th, tw: Math.min(w, th * 1.55) };
    }
    if (!best) return;
    var th = Math.max(58, Math.floor(best.th));
    var tw = Math.max(74, Math.floor(Math.max(best.tw, th * 1.12)));
    var cols = Math.max(1, Math.floor((W + gap) / (tw + gap)));
    var key = cols + ':' + tw + ':' + th + ':' + gap;
    if (key === dims.key) return;
    dims = { key: key, compact: th < 64 };
    grid.style.setProperty('--gap', gap + 'px');
    grid.style.gridTemplateColumns = 'repeat(' + cols + ', ' + tw + 'px)';
    grid.style.gridAutoRows = th + 'px';
    grid.style.setProperty('--f-name', Math.max(11, Math.min(tw * 0.145, th * 0.17, 22)).toFixed(1) + 'px');
    grid.style.setProperty('--f-temp', Math.max(16, Math.min(tw * 0.27, th * 0.33, 50)).toFixed(1) + 'px');
    grid.style.setProperty('--f-small', Math.max(10, Math.min(tw * 0.12, th * 0.14, 16)).toFixed(1) + 'px');
    grid.style.setProperty('--pip', Math.max(6, Math.min(th * 0.1, 12)).toFixed(1) + 'px');
    tiles.forEach(function (t) { t.el.classList.toggle('compact', dims.compact); });
  }
  function sync(full) {
    var list = visible();
    var ids = list.map(function (n) { return n.id; }).join('\n');
    if (full || ids !== order) {
      var keep = new Set();
      list.forEach(function (n) {
        var t = tiles.get(n.id);
        if (!t) { t = makeTile(n); tiles.set(n.id, t); }
        keep.add(n.id);
        grid.appendChild(t.el);
      });
      tiles.forEach(function (t, id) { if (!keep.has(id)) { t.el.remove(); tiles.delete(id); } });
      order = ids;
      empty.hidden = list.length > 0 || !S.ready;
      paintRunning();
      layout(list.length);
    }
    list.forEach(function (n) { paintTile(tiles.get(n.id), n); });
  }
  function paintKpis() {
    var t = clusterTotals();
    k.nodes.v.textContent = t.online;
    k.nodes.v.appendChild(h('small', { text: '/ ' + t.known }));
    var off = t.known - t.online;
    setText(k.nodes.sub, off > 0 ? off + ' stale or lost' : 'all reporting');
    k.slots.v.textContent = t.busy;
    k.slots.v.appendChild(h('small', { text: '/ ' + t.slots }));
    setText(k.slots.sub, t.slots ? Math.round((100 * t.busy) / t.slots) + '% of the cluster working' : 'no slots');
    setText(k.rate.v, fmtSI(t.rate));
    setText(k.rate.sub, 'numbers checked per second');
    if (t.temps) {
      k.temp.v.textContent = (t.tempSum / t.temps).toFixed(1);
      k.temp.v.appendChild(h('small', { text: '°C avg' }));
      setText(k.temp.sub, 'hottest ' + t.hottest.temp.toFixed(1) + ' °C on ' + t.hottest.name);
    } else {
      setText(k.temp.v, '–');
      setText(k.temp.sub, 'no sensors reporting');
    }
  }
  function paintRunning() {
    var jobs = [];
    S.jobs.forEach(function (j) { if (j.state === 'running' || j.state === 'queued') jobs.push(j); });
    jobs.sort(function (a, b) { return (a.state === 'running' ? 0 : 1) - (b.state === 'running' ? 0 : 1) || b.createdAt - a.createdAt; });
    jobs = jobs.slice(0, 2);
    var sig = jobs.map(function (j) { return j.id; }).join(',');
    if (running.getAttribute('data-jobs') !== sig) {
      clear(running);
      running.setAttribute('data-jobs', sig);
      jobs.forEach(function (j) { running.appendChild(runRow(j)); });
      if (sig) setTimeout(function () { layout(tiles.size); }, 0);
    }
    jobs.forEach(function (j, i) { paintRunRow(running.childNodes[i], j); });
  }
  function runRow(j) {
    var bar = h('span');
    var pct = h('div', { class: 'pct' });
    var facts = h('div', { class: 'run-facts' });
    var row = h('a', { class: 'run-row', href: '/job/' + encodeURIComponent(j.id) }, [
      h('div', { class: 'run-title' }, [h('span', { class: 'rt' }), h('small', { text: j.id })]),
      h('div', { class: 'progress' }, [bar, pct]),
      facts,
    ]);
    row._bar = bar; row._pct = pct; row._facts = facts;
    return row;
  }
  function paintRunRow(row, j) {
    setText(row.querySelector('.rt'), taskTitle(j));
    row._bar.style.width = (100 * j.progress).toFixed(2) + '%';
    setText(row._pct, j.state === 'queued' ? 'waiting for workers' : fmtPct(j.progress) + (j.etaSeconds !== null ? ' · ETA ' + fmtDuration(j.etaSeconds) : ''));
    var f = [];
    var live = j.live || {};
    if (j.task === 'primes') {
      f.push([fmtInt(live.count), 'primes']);
      if (live.largest) f.push([big(live.largest), 'largest']);
      if (j.primesPerSecond !== null) f.push([fmtSI(j.primesPerSecond), 'primes/s']);
    } else if (j.task === 'collatz') {
      if (live.longest) f.push([fmtInt(live.longest.n), 'record: ' + fmtInt(live.longest.steps) + ' steps']);
      if (j.numbersPerSecond !== null) f.push([fmtSI(j.numbersPerSecond), 'numbers/s']);
    } else if (j.task === 'life') {
      f.push([live.population === null || live.population === undefined ? '–' : fmtInt(live.population), 'cells alive']);
    } else {
      f.push([fmtInt(j.chunks.done), 'of ' + fmtInt(j.chunks.total) + ' chunks']);
    }
    var sig = JSON.stringify(f);
    if (row._sig === sig) return;
    row._sig = sig;
    clear(row._facts);
    f.forEach(function (p) { row._facts.appendChild(h('span', null, [h('b', { text: p[0] }), p[1]])); });
  }
  var onResize = throttle(function () { dims = ''; layout(tiles.size); }, 100);
  window.addEventListener('resize', onResize);
  return {
    update: function (c) {
      if (c.full) { sync(true); paintKpis(); paintRunning(); return; }
      if (c.nodes.length) {
        // the order and the set of tiles change only when a node joins or changes state
        var reorder = c.nodes.some(function (id) { var t = tiles.get(id); var n = S.nodes.get(id); return !t || !n || t.el.getAttribute('data-state') !== n.state; });
        if (reorder) sync(false);
        else c.nodes.forEach(function (id) { var t = tiles.get(id); var n = S.nodes.get(id); if (t && n) paintTile(t, n); });
        paintKpis();
      }
      if (c.jobs.length) paintRunning();
    },
    destroy: function () { window.removeEventListener('resize', onResize); },
  };
}
function temperatureLegend(hideOff) {
  var stops = [];
  for (var t = 40; t <= 80; t += 2) stops.push(temperatureColour(t) + ' ' + ((t - 40) * 2.5) + '%');
  var bar = h('div', { class: 'legend-bar' });
  bar.style.background = 'linear-gradient(90deg, ' + stops.join(', ') + ')';
  var ticks = h('div', { class: 'legend-ticks' });
  TEMPERATURE_STOPS.forEach(function (t) {
    var s = h('span', { text: t + '°' });
    s.style.left = ((t - 40) * 2.5) + '%';
    ticks.appendChild(s);
  });
  return h('div', { class: 'legend' }, [
    h('div', { class: 'legend-row' }, [h('div', { class: 'legend-title', text: 'CPU temperature °C' }), h('div', { class: 'legend-scale' }, [bar, ticks])]),
    h('div', { class: 'legend-keys' }, [
      h('span', null, [h('i', { class: 'key-grey' }), 'no sensor']),
      h('span', null, [h('i', { class: 'key-stale' }), 'stale (no report)']),
      h('span', null, [h('i', { class: 'key-lost' }), 'lost']),
      h('label', null, [hideOff, 'online only']),
    ]),
  ]);
}

// ---------------------------------------------------------------- charts
var chartSeq = 0;
/** The smallest of 1, 2, 4, 5, 8 times a power of ten that is at least v: four even grid steps. */
function niceCeil(v) {
  var p = Math.pow(10, Math.floor(Math.log10(v)));
  var m = [1, 2, 4, 5, 8, 10];
  for (var i = 0; i < m.length; i++) if (m[i] * p >= v) return m[i] * p;
  return 10 * p;
}
/** A line chart as SVG: o = { width, height, points: [{x, v}], x0, x1, min, max, auto, fmt, xfmt, stroke, temp } */
function lineChart(o) {
  var W = Math.max(240, o.width), H = o.height, L = 54, R = 14, T = 12, B = 24;
  var svg = sv('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img' });
  var pts = o.points.filter(function (p) { return p.v !== null && p.v !== undefined && isFinite(p.v); });
  var lo = o.min, hi = o.max;
  if (o.auto) {
    var mx = 0;
    pts.forEach(function (p) { if (p.v > mx) mx = p.v; });
    hi = niceCeil(mx > 0 ? mx * 1.08 : 1);
  }
  if (hi <= lo) hi = lo + 1;
  var x0 = o.x0, x1 = o.x1 > o.x0 ? o.x1 : o.x0 + 1;
  function X(x) { return L + ((x - x0) / (x1 - x0)) * (W - L - R); }
  function Y(v) { return T + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (H - T - B); }
  var grid = sv('g', { class: 'grid' });
  for (var i = 0; i <= 4; i++) {
    var v = lo + ((hi - lo) * i) / 4;
    grid.appendChild(sv('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
    grid.appendChild(sv('text', { x: L - 8, y: Y(v) + 4, 'text-anchor': 'end', text: o.fmt(v) }));
  }
  grid.appendChild(sv('text', { x: L, y: H - 6, text: o.xfmt(x0) }));
  grid.appendChild(sv('text', { x: W - R, y: H - 6, 'text-anchor': 'end', text: o.xfmt(x1) }));
  svg.appendChild(grid);
  var stroke = o.stroke || '#a78bfa';
  if (o.temp) {
    var id = 'tg' + ++chartSeq;
    var gr = sv('linearGradient', { id: id, gradientUnits: 'userSpaceOnUse', x1: 0, x2: 0, y1: Y(40), y2: Y(80) });
    TEMPERATURE_STOPS.forEach(function (t, k) { gr.appendChild(sv('stop', { offset: k / 4, 'stop-color': temperatureColour(t) })); });
    svg.appendChild(sv('defs', null, gr));
    stroke = 'url(#' + id + ')';
  }
  // break the line where reports are missing
  var gapLimit = o.gap || Infinity;
  var segs = [], cur = [];
  for (var k = 0; k < o.points.length; k++) {
    var p = o.points[k];
    var prev = o.points[k - 1];
    if (p.v === null || p.v === undefined || !isFinite(p.v) || (prev && p.x - prev.x > gapLimit)) { if (cur.length) segs.push(cur); cur = []; if (p.v === null || p.v === undefined || !isFinite(p.v)) continue; }
    cur.push(p);
  }
  if (cur.length) segs.push(cur);
  segs.forEach(function (seg) {
    var d = seg.map(function (p, n) { return (n ? 'L' : 'M') + X(p.x).toFixed(1) + ' ' + Y(p.v).toFixed(1); }).join(' ');
    var area = d + ' L' + X(seg[seg.length - 1].x).toFixed(1) + ' ' + Y(lo).toFixed(1) + ' L' + X(seg[0].x).toFixed(1) + ' ' + Y(lo).toFixed(1) + ' Z';
    svg.appendChild(sv('path', { d: area, fill: stroke, 'fill-opacity': 0.14, stroke: 'none' }));
    svg.appendChild(sv('path', { d: d, fill: 'none', stroke: stroke, 'stroke-width': 2.5, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }));
  });
  var last = pts[pts.length - 1];
  if (last) svg.appendChild(sv('circle', { cx: X(last.x), cy: Y(last.v), r: 4.5, fill: o.temp ? temperatureColour(last.v) : stroke, stroke: '#090d16', 'stroke-width': 2 }));
  if (!pts.length) svg.appendChild(sv('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', text: o.none || 'no data' }));
  return svg;
}
function timeAxis(t) { var s = Math.round((serverNow() - t) / 1000); return s <= 1 ? 'now' : '−' + fmtDuration(s); }

// ---------------------------------------------------------------- node page
function viewNode(root, id) {
  var detail = null;
  var title = h('h1');
  var state = h('span');
  var kp = {};
  ['temp', 'cpu', 'load', 'mem', 'slots', 'rate', 'done', 'seen'].forEach(function (k) { kp[k] = { v: h('div', { class: 'kpi-value' }), sub: h('div', { class: 'kpi-sub' }) }; });
  function kpi(k, label) { return h('div', { class: 'kpi' }, [h('div', { class: 'kpi-label', text: label }), kp[k].v, kp[k].sub]); }
  var facts = h('dl', { class: 'facts' });
  var charts = { temp: h('div'), cpu: h('div'), rate: h('div') };
  var nowText = { temp: h('span', { class: 'now' }), cpu: h('span', { class: 'now' }), rate: h('span', { class: 'now' }) };
  function chartBox(k, label) { return h('div', { class: 'panel chart-box' }, [h('div', { class: 'chart-head' }, [h('h2', { text: label }), nowText[k]]), charts[k]]); }
  var leases = h('tbody');
  var missing = h('div', { class: 'empty', hidden: true, text: 'No node ' + id + ' on this head.' });
  add(root, [
    h('a', { class: 'back', href: '/', text: '← all nodes' }),
    h('div', { class: 'page-title' }, [title, state]),
    missing,
    h('div', { class: 'kpis' }, [kpi('temp', 'Temperature'), kpi('cpu', 'CPU'), kpi('load', 'Load average'), kpi('mem', 'Memory used'), kpi('slots', 'Slots busy'), kpi('rate', 'Numbers / second'), kpi('done', 'Chunks done'), kpi('seen', 'Last report')]),
    facts,
    h('div', { class: 'charts' }, [chartBox('temp', 'Temperature'), chartBox('cpu', 'CPU use'), chartBox('rate', 'Numbers per second')]),
    h('div', { class: 'panel' }, [h('h2', { text: 'Chunks on this node now' }), h('table', { class: 'list' }, [h('thead', null, h('tr', null, [h('th', { text: 'Job' }), h('th', { text: 'Chunk' }), h('th', { text: 'Attempt' }), h('th', { text: 'Running for' }), h('th', { text: '' })])), leases])]),
  ]);
  function fact(label, value) { return h('div', null, [h('dt', { text: label }), h('dd', { text: value === null || value === undefined || value === '' ? '–' : String(value) })]); }
  function paint() {
    var n = S.nodes.get(id) || (detail && flat(detail));
    if (!n) { missing.hidden = !S.ready; return; }
    missing.hidden = true;
    document.title = n.name + ' · bramble';
    setText(title, n.name);
    clear(state); state.appendChild(badge(n.state));
    clear(kp.temp.v);
    var chip = h('span', { class: 'node-temp-chip' }); chip.style.background = temperatureColour(n.temp);
    add(kp.temp.v, [chip, n.temp === null ? 'no sensor' : n.temp.toFixed(1) + ' °C']);
    setText(kp.temp.sub, n.throttled ? 'throttled: flags 0x' + n.throttled.toString(16) : n.temp === null ? 'this machine reports none' : 'not throttled');
    kp.temp.sub.className = 'kpi-sub' + (n.throttled ? ' throttled' : '');
    setText(kp.cpu.v, n.cpu === null ? '–' : Math.round(n.cpu) + '%');
    setText(kp.cpu.sub, (n.arch || '') + (n.model ? ' · ' + n.model : ''));
    setText(kp.load.v, n.load ? n.load.map(function (x) { return x.toFixed(1); }).join(' · ') : '–');
    setText(kp.load.sub, '1, 5, 15 minutes');
    setText(kp.mem.v, n.memTotal ? Math.round((100 * (n.memTotal - (n.memFree || 0))) / n.memTotal) + '%' : '–');
    setText(kp.mem.sub, n.memTotal ? fmtBytes(n.memTotal - (n.memFree || 0)) + ' of ' + fmtBytes(n.memTotal) : '');
    setText(kp.slots.v, n.busy + ' / ' + n.slots);
    setText(kp.slots.sub, 'chunks leased / worker slots');
    setText(kp.rate.v, fmtSI(n.rate));
    setText(kp.rate.sub, 'numbers per second');
    setText(kp.done.v, fmtInt(n.chunksDone));
    setText(kp.done.sub, n.uptime ? 'up ' + fmtDuration(n.uptime) : '');
    setText(kp.seen.v, fmtAgo(n.lastSeen));
    setText(kp.seen.sub, 'joined ' + fmtAgo(n.joinedAt));
    clear(facts);
    add(facts, [fact('Hostname', n.hostname), fact('Addresses', (n.addresses || []).join(', ')), fact('Instance', n.instance), fact('System', n.os), fact('bramble version', n.version), fact('Node id', n.id)]);
    nowText.temp.textContent = fmtTemp(n.temp);
    nowText.cpu.textContent = n.cpu === null ? '–' : Math.round(n.cpu) + '%';
    nowText.rate.textContent = fmtRate(n.rate);
  }
  function flat(d) {
    var t = d.telemetry || {};
    return { id: d.id, name: d.name, instance: d.instance, hostname: d.hostname, address: d.remote, addresses: d.addresses, state: d.state, slots: d.slots, busy: (d.leases || []).length, temp: t.temp === undefined ? null : t.temp, cpu: t.cpu === undefined ? null : t.cpu, rate: t.rate === undefined ? null : t.rate, load: t.load || null, memTotal: t.memTotal || null, memFree: t.memFree || null, model: t.model || null, os: t.os || null, arch: t.arch || null, throttled: t.throttled || null, chunksDone: t.chunksDone === undefined ? null : t.chunksDone, uptime: t.uptime || null, version: d.version, joinedAt: d.joinedAt, lastSeen: d.lastSeen };
  }
  function paintCharts() {
    if (!detail) return;
    var hist = detail.history || [];
    var x1 = serverNow();
    var x0 = hist.length ? Math.min(hist[0].t, x1 - 60000) : x1 - 60000;
    var width = charts.temp.clientWidth || 520;
    var gap = Math.max(3 * S.staleMs, 20000);
    function draw(k, o) { clear(charts[k]); charts[k].appendChild(lineChart(o)); }
    draw('temp', { width: width, height: 200, points: hist.map(function (p) { return { x: p.t, v: p.temp }; }), x0: x0, x1: x1, min: 30, max: 90, fmt: function (v) { return v.toFixed(0) + '°'; }, xfmt: timeAxis, temp: true, gap: gap, none: 'no temperature sensor' });
    draw('cpu', { width: width, height: 200, points: hist.map(function (p) { return { x: p.t, v: p.cpu }; }), x0: x0, x1: x1, min: 0, max: 100, fmt: function (v) { return v.toFixed(0) + '%'; }, xfmt: timeAxis, stroke: '#60a5fa', gap: gap });
    draw('rate', { width: width, height: 200, points: hist.map(function (p) { return { x: p.t, v: p.rate }; }), x0: x0, x1: x1, min: 0, auto: true, fmt: fmtAxis, xfmt: timeAxis, stroke: '#22c55e', gap: gap });
  }
  function paintLeases() {
    clear(leases);
    var list = (detail && detail.leases) || [];
    if (!list.length) { leases.appendChild(h('tr', null, h('td', { colspan: 5, class: 'muted', text: 'No chunks right now.' }))); return; }
    list.slice().sort(function (a, b) { return a.since - b.since; }).forEach(function (l) {
      var tr = h('tr', { class: 'link' }, [
        h('td', null, h('a', { href: '/job/' + encodeURIComponent(l.job), text: l.job })),
        h('td', { class: 'num', text: fmtInt(l.index) }),
        h('td', { class: 'num', text: l.attempt }),
        h('td', { class: 'num', text: fmtDuration((serverNow() - l.since) / 1000) }),
        h('td', null, l.backup ? h('span', { class: 'badge', text: 'backup copy' }) : null),
      ]);
      tr.addEventListener('click', function () { navigate('/job/' + encodeURIComponent(l.job)); });
      leases.appendChild(tr);
    });
  }
  function load() {
    api('GET', '/api/nodes/' + encodeURIComponent(id)).then(function (r) {
      if (r.status === 404) { detail = null; missing.hidden = false; return; }
      if (!r.ok) return;
      detail = r.json;
      paint(); paintCharts(); paintLeases();
    });
  }
  var reload = throttle(load, 2000);
  var tick = setInterval(function () { var n = S.nodes.get(id); if (n) setText(kp.seen.v, fmtAgo(n.lastSeen)); }, 1000);
  var onResize = throttle(paintCharts, 200);
  window.addEventListener('resize', onResize);
  load();
  return {
    update: function (c) {
      if (c.full || c.nodes.indexOf(id) >= 0) { paint(); reload(); }
    },
    destroy: function () { clearInterval(tick); window.removeEventListener('resize', onResize); document.title = 'bramble'; },
  };
}

// ---------------------------------------------------------------- jobs list
function viewJobs(root) {
  var body = h('tbody');
  var empty = h('div', { class: 'empty', hidden: true }, ['No jobs yet. ', h('a', { href: '/jobs/new', text: 'Start one' }), ', or run ', h('code', { text: 'bramble submit primes --start 1 --end 1e9' }), '.']);
  add(root, [
    h('div', { class: 'jobs-head' }, [h('h1', { text: 'Jobs' }), h('a', { class: 'button', href: '/jobs/new', text: '+ New job' })]),
    h('div', { class: 'panel' }, [h('table', { class: 'list', id: 'jobs-table' }, [h('thead', null, h('tr', null, ['Job', 'State', 'Progress', 'Chunks', 'Rate', 'ETA', 'Submitted'].map(function (t) { return h('th', { text: t }); }))), body]), empty]),
  ]);
  var rows = new Map();
  function row(j) {
    var r = { bar: h('span'), pct: h('span', { class: 'pct-text' }), prog: null, state: h('td'), chunks: h('td', { class: 'num' }), rate: h('td', { class: 'num' }), eta: h('td', { class: 'num' }), when: h('td', { class: 'muted' }), title: h('div', { class: 'task-name' }) };
    r.prog = h('div', { class: 'progress' }, r.bar);
    r.tr = h('tr', { class: 'link', 'data-job': j.id }, [
      h('td', null, [r.title, h('div', { class: 'job-id', text: j.id })]),
      r.state,
      h('td', { class: 'progress-cell' }, h('div', { class: 'pc-wrap' }, [r.prog, r.pct])),
      r.chunks, r.rate, r.eta, r.when,
    ]);
    r.tr.addEventListener('click', function (e) { if (!e.target.closest('a')) navigate('/job/' + encodeURIComponent(j.id)); });
    return r;
  }
  function paintRow(r, j) {
    setText(r.title, taskTitle(j));
    if (r.state.textContent !== j.state) { clear(r.state); r.state.appendChild(badge(j.state)); }
    r.prog.className = 'progress ' + j.state;
    r.bar.style.width = (100 * j.progress).toFixed(2) + '%';
    setText(r.pct, fmtPct(j.progress));
    setText(r.chunks, fmtInt(j.chunks.done) + ' / ' + fmtInt(j.chunks.total) + (j.chunks.failed ? ' (' + j.chunks.failed + ' failed)' : ''));
    setText(r.rate, j.rate !== null && j.state !== 'cancelled' ? (j.numbersPerSecond !== null ? fmtSI(j.numbersPerSecond) + '/s' : fmtSI(j.rate) + ' chunks/s') + (j.state === 'running' ? '' : ' avg') : '–');
    setText(r.eta, j.state === 'running' ? fmtDuration(j.etaSeconds) : j.finishedAt && j.startedAt ? 'took ' + fmtDuration((j.finishedAt - j.startedAt) / 1000) : '–');
    setText(r.when, fmtAgo(j.createdAt));
  }
  function paintAll() {
    var list = [];
    S.jobs.forEach(function (j) { list.push(j); });
    list.sort(function (a, b) { return b.createdAt - a.createdAt; });
    empty.hidden = list.length > 0 || !S.ready;
    list.forEach(function (j) {
      var r = rows.get(j.id);
      if (!r) { r = row(j); rows.set(j.id, r); }
      body.appendChild(r.tr);
      paintRow(r, j);
    });
  }
  var tick = setInterval(function () { rows.forEach(function (r, id) { var j = S.jobs.get(id); if (j) setText(r.when, fmtAgo(j.createdAt)); }); }, 5000);
  return {
    update: function (c) { if (c.full || c.jobs.length) paintAll(); },
    destroy: function () { clearInterval(tick); },
  };
}

// ---------------------------------------------------------------- job page
var MAP_COLOURS = { pending: [42, 53, 80], leased: [245, 165, 36], done: [34, 197, 94], failed: [239, 68, 68] };
function viewJob(root, id) {
  var job = null, result = null, resultFor = '', pop = [];
  var title = h('h1'), state = h('span'), idText = h('span', { class: 'job-id', text: id });
  var bar = h('span'), pct = h('div', { class: 'pct' });
  var prog = h('div', { class: 'progress big' }, [bar, pct]);
  var kp = {};
  ['done', 'rate', 'numbers', 'eta', 'elapsed'].forEach(function (k) { kp[k] = { v: h('div', { class: 'kpi-value' }), sub: h('div', { class: 'kpi-sub' }) }; });
  function kpi(k, label) { return h('div', { class: 'kpi' }, [h('div', { class: 'kpi-label', text: label }), kp[k].v, kp[k].sub]); }
  var summary = h('div', { class: 'summary-big' });
  var summaryPanel = h('div', { class: 'panel' }, [h('h2', { class: 'summary-title', text: 'Live result' }), summary]);
  var canvas = h('canvas', { class: 'chunkmap', id: 'chunkmap' });
  var mapLegend = h('div', { class: 'map-legend' });
  var mapNote = h('span', { class: 'muted' });
  var actions = h('div', { class: 'actions' });
  var details = h('dl', { class: 'result-list' });
  var detailsKey = '';
  var errorBox = h('div', { class: 'job-error', hidden: true });
  var missing = h('div', { class: 'empty', hidden: true, text: 'No job ' + id + ' on this head.' });
  add(root, [
    h('a', { class: 'back', href: '/jobs', text: '← all jobs' }),
    h('div', { class: 'page-title' }, [title, state, idText]),
    missing,
    prog,
    h('div', { class: 'kpis', style: null }, [kpi('done', 'Chunks done'), kpi('rate', 'Chunks / second'), kpi('numbers', 'Numbers / second'), kpi('eta', 'Time left'), kpi('elapsed', 'Running for')]),
    errorBox,
    h('div', { class: 'job-layout' }, [
      h('div', { class: 'panel' }, [h('h2', null, ['Chunk map ', mapNote]), canvas, mapLegend]),
      h('div', null, [summaryPanel, actions, h('div', { class: 'panel details' }, [h('h2', { text: 'Job' }), details])]),
    ]),
  ]);
  prog.style.marginBottom = '14px';
  var mapData = null, mapFetchedFinal = false;
  function figure(label, value, cls, sub) {
    return h('div', { class: 'big-figure' }, [h('div', { class: 'label', text: label }), h('div', { class: 'value' + (cls ? ' ' + cls : ''), text: value }), sub ? h('div', { class: 'sub', text: sub }) : null]);
  }
  function paintSummary(j) {
    var live = j.live || {};
    var r = result;
    var parts = [];
    if (j.task === 'primes') {
      parts.push(figure('Primes found', fmtInt(r ? r.count : live.count)));
      var largest = r ? r.last : live.largest;
      parts.push(figure(r ? 'Largest prime' : 'Largest prime so far', largest ? big(largest) : '–', 'prime'));
      parts.push(figure('Primes per second', fmtSI(j.primesPerSecond), '', j.state === 'running' ? 'over the last 10 seconds' : j.state === 'done' ? 'over the whole run' : null));
      if (r) parts.push(h('dl', { class: 'result-list' }, [h('dt', { text: 'First prime' }), h('dd', { text: r.first ? big(r.first) : '–' }), h('dt', { text: 'Largest gap' }), h('dd', { text: r.largestGap ? fmtInt(r.largestGap.gap) + ' after ' + big(r.largestGap.after) : '–' }), h('dt', { text: 'Time' }), h('dd', { text: r.seconds === null ? '–' : r.seconds.toFixed(2) + ' s' })]));
    } else if (j.task === 'collatz') {
      var c = r || live;
      if (c.mode === 'verify') {
        parts.push(figure('Numbers verified', fmtInt(c.verified || c.count)));
      } else {
        parts.push(figure(r ? 'Longest path' : 'Record so far', c.longest ? fmtInt(c.longest.n) : '–', '', c.longest ? 'takes ' + fmtInt(c.longest.steps) + ' steps to reach 1' : null));
      }
      parts.push(figure('Highest value reached', c.highest ? big(c.highest.value) : '–', 'prime', c.highest ? 'starting from ' + fmtInt(c.highest.n) : null));
      parts.push(figure('Numbers checked', fmtInt(c.count)));
    } else if (j.task === 'life') {
      var popNow = r ? r.population : live.population;
      parts.push(figure('Cells alive', popNow === null || popNow === undefined ? '–' : fmtInt(popNow), '', (j.params.rule || '') + (j.params.bounded ? ', bounded' : ', torus')));
      var box = h('div', { class: 'pop-chart' });
      parts.push(box);
      var points = r && r.history ? r.history.map(function (v, i) { return { x: i * (r.historyEvery || 1), v: v }; }) : pop;
      setTimeout(function () {
        var w = box.clientWidth || 400;
        var x1 = points.length ? points[points.length - 1].x : 1;
        box.appendChild(lineChart({ width: w, height: 200, points: points, x0: 0, x1: x1, min: 0, auto: true, fmt: fmtAxis, xfmt: function (x) { return r ? 'generation ' + fmtInt(x) : ''; }, stroke: '#22c55e', none: 'the population appears when the grid is done' }));
      }, 0);
    } else {
      parts.push(figure('Chunks done', fmtInt(j.chunks.done)));
    }
    clear(summary);
    add(summary, parts);
    setText(summaryPanel.querySelector('.summary-title'), r ? 'Result' : 'Live result');
  }
  function paintActions(j) {
    clear(actions);
    if (j.hasOutput && (j.state === 'done' || j.state === 'failed')) {
      actions.appendChild(h('a', { class: 'button', id: 'download', href: '/api/jobs/' + encodeURIComponent(j.id) + '/output', download: '', text: j.task === 'life' ? '⬇ Download the final grid (.rle)' : '⬇ Download every prime (.txt)' }));
    }
    if (j.state === 'running' || j.state === 'queued') {
      var btn = h('button', { class: 'danger', id: 'cancel', text: 'Cancel job' });
      var armed = null;
      btn.addEventListener('click', function () {
        if (!armed) {
          btn.classList.add('armed'); btn.textContent = 'Click again to cancel';
          armed = setTimeout(function () { armed = null; btn.classList.remove('armed'); btn.textContent = 'Cancel job'; }, 4000);
          return;
        }
        clearTimeout(armed);
        btn.disabled = true; btn.textContent = 'Cancelling…';
        api('POST', '/api/jobs/' + encodeURIComponent(j.id) + '/cancel').then(function (r) {
          if (r.ok) { S.jobs.set(r.json.id, Object.assign({}, S.jobs.get(r.json.id) || {}, r.json)); paint(); }
          else { btn.disabled = false; btn.textContent = 'Cancel job'; errorBox.hidden = false; errorBox.textContent = (r.json && r.json.error && r.json.error.message) || 'cancel failed'; }
        });
      });
      actions.appendChild(btn);
    }
    if (j.hasOutput && (j.state === 'running' || j.state === 'queued')) actions.appendChild(h('span', { class: 'muted', text: 'The full output can be downloaded when the job is done.' }));
  }
  var actionsKey = '';
  function paint() {
    var j = S.jobs.get(id) || job;
    if (!j) { missing.hidden = !S.ready; return; }
    job = j;
    missing.hidden = true;
    document.title = j.task + ' ' + j.id + ' · bramble';
    setText(title, taskTitle(j));
    if (state.textContent !== j.state) { clear(state); state.appendChild(badge(j.state)); }
    state.setAttribute('data-state', j.state);
    prog.className = 'progress big ' + j.state;
    bar.style.width = (100 * j.progress).toFixed(2) + '%';
    setText(pct, fmtPct(j.progress) + (j.state === 'queued' ? ' · waiting for workers' : ''));
    pct.setAttribute('data-progress', String(j.progress));
    setText(kp.done.v, fmtInt(j.chunks.done));
    setText(kp.done.sub, 'of ' + fmtInt(j.chunks.total) + ' · ' + j.chunks.leased + ' running' + (j.chunks.failed ? ' · ' + j.chunks.failed + ' failed' : ''));
    var avg = j.state === 'done' || j.state === 'failed';
    setText(kp.rate.v, (j.state === 'running' || avg) && j.rate !== null ? fmtSI(j.rate) : '–');
    setText(kp.rate.sub, (avg ? 'average' : '') + (j.task === 'primes' || j.task === 'collatz' ? (avg ? ' · ' : '') + 'chunk size ' + fmtInt(j.chunk) : ''));
    setText(kp.numbers.v, j.state === 'running' || avg ? fmtSI(j.numbersPerSecond) : '–');
    setText(kp.numbers.sub, j.task === 'primes' || j.task === 'collatz' ? 'range ' + fmtInt(j.start) + ' … ' + fmtInt(j.end) : '');
    setText(kp.eta.v, j.state === 'running' ? fmtDuration(j.etaSeconds) : j.state === 'queued' ? '–' : j.state);
    setText(kp.eta.sub, j.state === 'running' && j.etaSeconds !== null ? 'at the current rate' : '');
    var end = j.finishedAt || serverNow();
    setText(kp.elapsed.v, j.startedAt ? fmtDuration((end - j.startedAt) / 1000) : '–');
    setText(kp.elapsed.sub, j.finishedAt ? 'finished ' + fmtAgo(j.finishedAt) : 'submitted ' + fmtAgo(j.createdAt));
    setText(kp.elapsed.v.previousSibling, j.finishedAt ? 'Took' : 'Running for');
    if (j.error || (j.failedChunks && j.failedChunks.length)) {
      errorBox.hidden = false;
      errorBox.textContent = (j.error || '') + (j.failedChunks && j.failedChunks.length ? ' Failed chunks: ' + j.failedChunks.map(function (f) { return f.index + ' (' + f.error + ')'; }).join('; ') : '');
    }
    if (j.task === 'life' && j.live && j.live.population !== null && j.live.population !== undefined) {
      var lastPop = pop[pop.length - 1];
      if (!lastPop || String(lastPop.v) !== j.live.population) pop.push({ x: serverNow(), v: Number(j.live.population) });
    }
    var dk = j.id + j.state + j.startedAt + j.finishedAt;
    if (dk !== detailsKey) {
      detailsKey = dk;
      clear(details);
      var rows = [['Id', j.id], ['Task', j.task]];
      if (j.task === 'life') {
        var lp = j.params || {};
        rows.push(['Grid', lp.width + ' × ' + lp.height + (lp.bounded ? ', bounded' : ', torus')], ['Rule', lp.rule], ['Start', lp.pattern ? 'pattern' : 'random, density ' + lp.density + ', seed ' + lp.seed]);
      } else if (j.task !== 'noop') {
        rows.push(['Range', fmtInt(j.start) + ' … ' + fmtInt(j.end)], ['Chunk size', fmtInt(j.chunk)]);
        if (j.task === 'collatz') rows.push(['Mode', j.params.mode]);
        if (j.task === 'primes') rows.push(['Every prime kept', j.params.list ? 'yes' : 'no (count only)']);
      }
      rows.push(['Chunks', fmtInt(j.chunks.total)], ['Priority', j.priority], ['Submitted', new Date(j.createdAt).toLocaleString()]);
      if (j.startedAt) rows.push(['Started', new Date(j.startedAt).toLocaleString()]);
      if (j.finishedAt) rows.push(['Finished', new Date(j.finishedAt).toLocaleString()]);
      rows.forEach(function (r) { add(details, [h('dt', { text: r[0] }), h('dd', { text: String(r[1]) })]); });
    }
    var key = j.state + '|' + j.hasOutput;
    if (key !== actionsKey) { actionsKey = key; paintActions(j); }
    if ((j.state === 'done' || j.state === 'failed') && resultFor !== j.id + j.state) {
      resultFor = j.id + j.state;
      api('GET', '/api/jobs/' + encodeURIComponent(j.id) + '/result').then(function (r) { if (r.ok) { result = r.json; paintSummary(job); } });
    }
    paintSummary(j);
    fetchMap();
  }
  var fetchMap = throttle(function () {
    if (!job || mapFetchedFinal) return;
    var terminal = job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
    var cells = Math.min(4096, Math.max(1, job.chunks.total));
    api('GET', '/api/jobs/' + encodeURIComponent(id) + '/chunks?cells=' + cells).then(function (r) {
      if (!r.ok) return;
      mapData = r.json;
      if (terminal) mapFetchedFinal = true;
      drawMap();
    });
  }, 500);
  function drawMap() {
    if (!mapData) return;
    var cells = mapData.cells, n = cells.length;
    var per = n ? Math.ceil(mapData.total / n) : 1;
    var W = canvas.clientWidth || 600;
    var maxH = 340;
    var size = Math.max(3, Math.min(56, Math.floor(Math.sqrt((W * maxH) / Math.max(1, n)))));
    var cols = Math.max(1, Math.floor(W / size));
    while (size > 3 && Math.ceil(n / cols) * size > maxH) { size--; cols = Math.max(1, Math.floor(W / size)); }
    var rows = Math.ceil(n / cols);
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(rows * size * dpr);
    canvas.style.height = rows * size + 'px';
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, rows * size);
    var gap = size >= 6 ? 1.5 : size >= 4 ? 1 : 0;
    var tot = [0, 0, 0, 0];
    for (var i = 0; i < n; i++) {
      var c = cells[i];
      tot[0] += c[0]; tot[1] += c[1]; tot[2] += c[2]; tot[3] += c[3];
      var all = c[0] + c[1] + c[2] + c[3];
      var rgb;
      if (c[3] > 0) rgb = MAP_COLOURS.failed;
      else if (c[1] > 0) rgb = MAP_COLOURS.leased;
      else if (all > 0 && c[2] === all) rgb = MAP_COLOURS.done;
      else if (c[2] > 0) {
        var f = c[2] / all, a = MAP_COLOURS.pending, b = MAP_COLOURS.done;
        rgb = [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f].map(Math.round);
      } else rgb = MAP_COLOURS.pending;
      ctx.fillStyle = 'rgb(' + rgb.join(',') + ')';
      ctx.fillRect((i % cols) * size, Math.floor(i / cols) * size, size - gap, size - gap);
    }
    canvas.setAttribute('data-cells', String(n));
    canvas.setAttribute('data-done', String(tot[2]));
    var chunksWord = fmtInt(mapData.total) + (mapData.total === 1 ? ' chunk' : ' chunks');
    setText(mapNote, per > 1 ? '(' + chunksWord + ', ' + fmtInt(per) + ' per cell)' : '(' + chunksWord + ')');
    clear(mapLegend);
    [['pending', 'pending', 0], ['leased', 'running', 1], ['done', 'done', 2], ['failed', 'failed', 3]].forEach(function (k) {
      var i2 = h('i'); i2.style.background = 'rgb(' + MAP_COLOURS[k[0]].join(',') + ')';
      mapLegend.appendChild(h('span', null, [i2, k[1] + ' ', h('b', { text: fmtInt(tot[k[2]]) })]));
    });
  }
  var onResize = throttle(function () { drawMap(); if (job) paintSummary(job); }, 200);
  window.addEventListener('resize', onResize);
  var tick = setInterval(function () { if (job && job.state === 'running') { var end = serverNow(); if (job.startedAt) setText(kp.elapsed.v, fmtDuration((end - job.startedAt) / 1000)); } }, 1000);
  if (!S.jobs.get(id)) {
    api('GET', '/api/jobs/' + encodeURIComponent(id)).then(function (r) {
      if (r.ok && !S.jobs.get(id)) { job = Object.assign({ numbersPerSecond: null, primesPerSecond: null, hasOutput: r.json.task === 'life' || (r.json.params && r.json.params.list === true) }, r.json); paint(); }
      else if (r.status === 404) missing.hidden = false;
    });
  }
  return {
    update: function (c) { if (c.full || c.jobs.indexOf(id) >= 0) paint(); },
    destroy: function () { clearInterval(tick); window.removeEventListener('resize', onResize); document.title = 'bramble'; },
  };
}

// ---------------------------------------------------------------- submit form
var TASKS = {
  primes: { title: 'Primes', blurb: 'find every prime in a range', fields: [
    ['start', 'Start', '1', 'first number (1e6, 2^32 and 1_000 work)'],
    ['end', 'End', '1e9', 'last number, up to 2^64 − 1'],
    ['chunk', 'Chunk size', '', 'numbers per chunk (empty: about 1–2 s of work)'],
    ['list', 'Keep every prime for download', false, ''],
  ] },
  collatz: { title: 'Collatz', blurb: 'longest 3n + 1 path in a range', fields: [
    ['start', 'Start', '1', 'first starting value'],
    ['end', 'End', '1e7', 'last starting value'],
    ['chunk', 'Chunk size', '', 'numbers per chunk (empty: automatic)'],
    ['mode', 'Mode', ['steps', 'verify'], 'steps: record path lengths; verify: check every n reaches 1'],
  ] },
  life: { title: 'Game of Life', blurb: 'run a random grid for many generations', fields: [
    ['size', 'Grid size', '1024x1024', 'width x height'],
    ['generations', 'Generations', '1000', ''],
    ['random', 'Density', '0.5', 'share of cells alive at the start (0 to 1)'],
    ['seed', 'Seed', '1', 'same seed, same grid'],
    ['rule', 'Rule', 'B3/S23', 'Conway is B3/S23; HighLife is B36/S23'],
    ['bounded', 'Bounded edges (not a torus)', false, ''],
  ] },
};
var TOP_FIELDS = { start: 1, end: 1, chunk: 1, priority: 1 };
function viewSubmit(root) {
  var task = 'primes';
  var tabs = h('div', { class: 'task-tabs', role: 'tablist' });
  var fields = h('div', { class: 'fields' });
  var formError = h('div', { class: 'form-error', role: 'alert', id: 'form-error', hidden: true });
  var submitBtn = h('button', { class: 'primary', type: 'submit', id: 'submit-job', text: 'Start job' });
  var form = h('form', { class: 'panel submit', novalidate: true, id: 'submit-form' }, [
    h('h2', { text: 'What should the cluster compute?' }),
    tabs, fields,
    formError,
    h('div', { class: 'form-actions' }, [submitBtn, h('span', { class: 'muted', text: 'The job is split into chunks; every worker takes some.' })]),
  ]);
  add(root, [h('div', { class: 'jobs-head' }, [h('h1', { text: 'New job' })]), form]);
  var inputs = {};
  function drawTabs() {
    clear(tabs);
    Object.keys(TASKS).forEach(function (k) {
      var b = h('button', { type: 'button', class: k === task ? 'active' : '', 'data-task': k, role: 'tab' }, [TASKS[k].title, h('small', { text: TASKS[k].blurb })]);
      b.addEventListener('click', function () { task = k; drawTabs(); drawFields(); });
      tabs.appendChild(b);
    });
  }
  function drawFields() {
    clear(fields);
    inputs = {};
    formError.hidden = true;
    TASKS[task].fields.concat([['priority', 'Priority', '0', 'higher runs first (0 to 1000)']]).forEach(function (f) {
      var name = f[0], input, wrap;
      if (f[2] === false) {
        input = h('input', { type: 'checkbox', name: name, id: 'f-' + name });
        wrap = h('div', { class: 'field check', 'data-field': name }, [input, h('label', { for: 'f-' + name, text: f[1] })]);
      } else if (Array.isArray(f[2])) {
        input = h('select', { name: name, id: 'f-' + name }, f[2].map(function (o) { return h('option', { value: o, text: o }); }));
        wrap = h('div', { class: 'field', 'data-field': name }, [h('label', { for: 'f-' + name, text: f[1] }), input, f[3] ? h('div', { class: 'hint', text: f[3] }) : null]);
      } else {
        input = h('input', { type: 'text', name: name, id: 'f-' + name, value: f[2], autocomplete: 'off', spellcheck: 'false' });
        wrap = h('div', { class: 'field', 'data-field': name }, [h('label', { for: 'f-' + name, text: f[1] }), input, f[3] ? h('div', { class: 'hint', text: f[3] }) : null]);
      }
      wrap.appendChild(h('div', { class: 'field-error', hidden: true }));
      input.addEventListener('input', function () { wrap.classList.remove('invalid'); wrap.querySelector('.field-error').hidden = true; });
      inputs[name] = { input: input, wrap: wrap };
      fields.appendChild(wrap);
    });
  }
  function showError(err) {
    var field = String((err && err.field) || '').replace(/^--/, '').replace(/^params\./, '');
    if (field === 'max-attempts') field = 'maxAttempts';
    var target = inputs[field];
    formError.hidden = false;
    formError.textContent = (err && err.message) || 'the head refused the job';
    if (target) {
      target.wrap.classList.add('invalid');
      var fe = target.wrap.querySelector('.field-error');
      fe.hidden = false;
      fe.textContent = err.message;
      target.input.focus();
    }
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    Object.keys(inputs).forEach(function (k) { inputs[k].wrap.classList.remove('invalid'); inputs[k].wrap.querySelector('.field-error').hidden = true; });
    formError.hidden = true;
    var body = { task: task, params: {} };
    Object.keys(inputs).forEach(function (k) {
      var el = inputs[k].input;
      var v = el.type === 'checkbox' ? el.checked : el.value.trim();
      if (v === '' || v === false) return;
      if (TOP_FIELDS[k]) body[k] = v; else body.params[k] = v;
    });
    submitBtn.disabled = true;
    api('POST', '/api/jobs', body).then(function (r) {
      submitBtn.disabled = false;
      if (r.status === 201) { S.jobs.set(r.json.id, Object.assign({ numbersPerSecond: null, primesPerSecond: null, hasOutput: false }, r.json)); navigate('/job/' + encodeURIComponent(r.json.id)); return; }
      showError(r.json && r.json.error);
    }, function (err) { submitBtn.disabled = false; showError({ message: 'cannot reach the head: ' + err.message }); });
  });
  drawTabs();
  drawFields();
  return null;
}

// ---------------------------------------------------------------- event log
function viewLog(root) {
  var levels = { info: true, warn: true, error: true };
  var kind = h('select', { id: 'log-kind' }, h('option', { value: '', text: 'every kind' }));
  var search = h('input', { type: 'search', id: 'log-search', placeholder: 'search messages' });
  var count = h('span', { class: 'log-count' });
  var chips = ['info', 'warn', 'error'].map(function (l) {
    var b = h('button', { type: 'button', class: 'chip', 'data-level': l }, [h('span', { class: 'lvl lvl-' + l, text: l })]);
    b.addEventListener('click', function () { levels[l] = !levels[l]; b.classList.toggle('off', !levels[l]); paint(); });
    return b;
  });
  var body = h('tbody');
  add(root, [
    h('div', { class: 'jobs-head' }, [h('h1', { text: 'Event log' })]),
    h('div', { class: 'log-filters' }, chips.concat([kind, search, count])),
    h('div', { class: 'panel' }, h('table', { class: 'list log', id: 'log-table' }, [h('thead', null, h('tr', null, ['Time', 'Level', 'Kind', 'Message'].map(function (t) { return h('th', { text: t }); }))), body])),
  ]);
  kind.addEventListener('change', paint);
  search.addEventListener('input', throttle(paint, 150));
  var kinds = new Set();
  function paint() {
    S.events.forEach(function (e) {
      if (!kinds.has(e.kind)) { kinds.add(e.kind); kind.appendChild(h('option', { value: e.kind, text: e.kind })); }
    });
    var q = search.value.trim().toLowerCase();
    var shown = S.events.filter(function (e) { return levels[e.level] && (!kind.value || e.kind === kind.value) && (!q || e.msg.toLowerCase().indexOf(q) >= 0); });
    setText(count, shown.length + ' of ' + S.events.length + ' events (the head keeps the last 1000)');
    clear(body);
    var list = shown.slice(-500).reverse();
    list.forEach(function (e) {
      body.appendChild(h('tr', { class: 'ev-' + e.level, 'data-level': e.level, 'data-kind': e.kind }, [
        h('td', { class: 't', text: fmtClock(e.t) }),
        h('td', { class: 'l' }, h('span', { class: 'lvl lvl-' + e.level, text: e.level })),
        h('td', { class: 'k', text: e.kind }),
        h('td', { text: e.msg }),
      ]));
    });
    if (!list.length) body.appendChild(h('tr', null, h('td', { colspan: 4, class: 'muted', text: S.events.length ? 'No event matches the filters.' : 'No events yet.' })));
  }
  return { update: function (c) { if (c.full || c.events.length) paint(); } };
}

// ---------------------------------------------------------------- start
function start() {
  render();
  api('GET', '/api/health').then(function (r) { if (r.ok && r.json && r.json.insecure === true) document.getElementById('insecure').hidden = false; });
  if (window.EventSource) connect(); else startPolling();
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
`;

/** The script served at /assets/app.js: the colour scale's own code, then the app. */
export function appJs(): string {
  return `(function () {\n'use strict';\nvar temperatureColour = ${temperatureColour.toString()};\nvar TEMPERATURE_STOPS = ${JSON.stringify(TEMPERATURE_STOPS)};\n${BODY}\n})();\n`;
}
