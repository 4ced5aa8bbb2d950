/** The dashboard's style sheet: dark, large numbers, made to be read from the back of a room. */
export const APP_CSS = String.raw`
:root {
  --bg: #090d16;
  --panel: #111827;
  --panel-2: #172036;
  --line: #243049;
  --text: #e8edf7;
  --muted: #8d99b2;
  --faint: #5c6781;
  --accent: #a78bfa;
  --accent-2: #7c3aed;
  --green: #22c55e;
  --amber: #f5a524;
  --red: #ef4444;
  --blue: #60a5fa;
  --pending: #2a3550;
  --radius: 10px;
  --sans: "Inter", "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
  --narrow: "Roboto Condensed", "Arial Narrow", "Liberation Sans Narrow", "DejaVu Sans Condensed", "Inter", Arial, sans-serif;
  --mono: "JetBrains Mono", "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  color-scheme: dark;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); font-family: var(--sans); font-size: 15px; }
body { min-height: 100vh; display: flex; flex-direction: column; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.num { font-variant-numeric: tabular-nums; }
.mono { font-family: var(--mono); }
.muted { color: var(--muted); }
[hidden] { display: none !important; }

/* ---- banner and header ---- */
.insecure { background: repeating-linear-gradient(135deg, #b91c1c 0 18px, #991b1b 18px 36px); color: #fff; font-weight: 800; letter-spacing: .04em; text-align: center; padding: 10px 16px; font-size: 17px; border-bottom: 2px solid #fecaca; }
.top { display: flex; align-items: center; gap: 22px; padding: 0 18px; height: 58px; background: #0c1221; border-bottom: 1px solid var(--line); flex: none; }
.brand { display: flex; align-items: center; gap: 9px; color: var(--text); font-weight: 800; font-size: 23px; letter-spacing: -.01em; }
.brand:hover { text-decoration: none; }
.berry { width: 32px; height: 32px; }
.nav { display: flex; gap: 4px; }
.nav a { color: var(--muted); padding: 7px 13px; border-radius: 8px; font-weight: 600; font-size: 15px; }
.nav a:hover { color: var(--text); background: var(--panel-2); text-decoration: none; }
.nav a.active { color: var(--text); background: var(--panel-2); box-shadow: inset 0 -2px 0 var(--accent); }
.top-stats { margin-left: auto; display: flex; gap: 22px; color: var(--muted); font-size: 15px; white-space: nowrap; }
.top-stats b { color: var(--text); font-size: 17px; font-variant-numeric: tabular-nums; }
.conn { display: flex; align-items: center; gap: 7px; color: var(--muted); font-size: 13px; min-width: 92px; }
.conn .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--faint); }
.conn[data-state="live"] .dot { background: var(--green); box-shadow: 0 0 6px rgba(34,197,94,.8); }
.conn[data-state="reconnecting"] .dot { background: var(--amber); }
.conn[data-state="polling"] .dot { background: var(--blue); }
main { flex: 1; padding: 14px 18px 18px; min-width: 0; }
.logged-out { position: fixed; inset: 0; background: rgba(5,8,14,.86); display: flex; align-items: center; justify-content: center; z-index: 10; }
.logged-out > div { background: var(--panel); border: 1px solid var(--line); border-radius: 14px; padding: 28px 34px; max-width: 560px; font-size: 17px; line-height: 1.5; }

/* ---- shared pieces ---- */
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 16px 18px; }
.panel h2, h2.section { margin: 0 0 12px; font-size: 15px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); font-weight: 700; }
.page-title { display: flex; align-items: center; gap: 14px; margin: 2px 0 14px; flex-wrap: wrap; }
.page-title h1 { margin: 0; font-size: 30px; letter-spacing: -.01em; }
.back { color: var(--muted); font-size: 15px; }
.badge { display: inline-block; padding: 3px 10px; border-radius: 999px; font-size: 13px; font-weight: 800; text-transform: uppercase; letter-spacing: .06em; background: var(--panel-2); color: var(--muted); border: 1px solid var(--line); }
.badge.st-running, .badge.st-ready { background: rgba(34,197,94,.14); color: #4ade80; border-color: rgba(34,197,94,.4); }
.badge.st-queued, .badge.st-draining { background: rgba(96,165,250,.14); color: #93c5fd; border-color: rgba(96,165,250,.4); }
.badge.st-done { background: rgba(167,139,250,.16); color: #c4b5fd; border-color: rgba(167,139,250,.45); }
.badge.st-failed, .badge.st-lost { background: rgba(239,68,68,.16); color: #fca5a5; border-color: rgba(239,68,68,.45); }
.badge.st-cancelled, .badge.st-gone { background: rgba(141,153,178,.14); color: #cbd5e1; }
.badge.st-stale { background: rgba(245,165,36,.16); color: #fcd34d; border-color: rgba(245,165,36,.45); }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.kpi { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 12px 16px; min-width: 0; }
.kpi-label { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .08em; font-weight: 700; }
.kpi-value { font-size: 32px; font-weight: 800; margin-top: 4px; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; letter-spacing: -.01em; }
.kpi-value small { font-size: 17px; font-weight: 600; color: var(--muted); margin-left: 4px; }
.kpi-sub { color: var(--muted); font-size: 14px; margin-top: 2px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.progress { position: relative; height: 12px; background: var(--pending); border-radius: 999px; overflow: hidden; }
.progress > span { position: absolute; inset: 0 auto 0 0; background: linear-gradient(90deg, #7c3aed, #a78bfa); border-radius: 999px; transition: width .4s ease; }
.progress.done > span { background: linear-gradient(90deg, #16a34a, #22c55e); }
.progress.failed > span { background: linear-gradient(90deg, #b91c1c, #ef4444); }
.progress.cancelled > span { background: #475569; }
.progress.big { height: 30px; }
.progress.big .pct { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; font-weight: 800; font-size: 17px; text-shadow: 0 1px 2px rgba(0,0,0,.6); font-variant-numeric: tabular-nums; }
table.list { width: 100%; border-collapse: collapse; font-size: 15px; }
table.list th { text-align: left; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .08em; padding: 8px 10px; border-bottom: 1px solid var(--line); font-weight: 700; }
table.list td { padding: 10px; border-bottom: 1px solid rgba(36,48,73,.6); vertical-align: middle; }
table.list tr.link { cursor: pointer; }
table.list tr.link:hover td { background: var(--panel-2); }
.empty { color: var(--muted); font-size: 18px; padding: 40px 10px; text-align: center; line-height: 1.6; }
.empty code, code { font-family: var(--mono); background: var(--panel-2); padding: 2px 6px; border-radius: 5px; font-size: .92em; color: var(--text); }
button, .button { font: inherit; font-weight: 700; border-radius: 9px; border: 1px solid var(--line); background: var(--panel-2); color: var(--text); padding: 10px 18px; cursor: pointer; font-size: 15px; display: inline-flex; align-items: center; gap: 8px; }
button:hover, .button:hover { border-color: var(--accent); text-decoration: none; }
button.primary { background: var(--accent-2); border-color: #8b5cf6; }
button.primary:hover { background: #6d28d9; }
button.danger { background: rgba(239,68,68,.14); border-color: rgba(239,68,68,.5); color: #fecaca; }
button.danger.armed { background: #dc2626; color: #fff; }
button:disabled { opacity: .5; cursor: default; }

/* ---- node wall ---- */
.view-wall { display: flex; flex-direction: column; height: 100%; }
.wall-bar { display: flex; gap: 14px; align-items: stretch; margin-bottom: 12px; flex-wrap: wrap; }
.wall-bar .kpis { flex: 1 1 760px; grid-template-columns: repeat(4, minmax(150px, 1fr)); }
.wall-bar .kpi { padding: 8px 14px; }
.wall-bar .kpi-value { font-size: 30px; margin-top: 0; }
.legend { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 9px 16px; display: flex; flex-direction: column; justify-content: center; gap: 6px; flex: 0 1 520px; min-width: 380px; }
.legend-row { display: flex; align-items: center; gap: 14px; }
.legend-scale { flex: 1; position: relative; height: 36px; margin: 0 12px; }
.legend-bar { height: 14px; border-radius: 4px; }
.legend-ticks { position: relative; height: 18px; margin-top: 3px; }
.legend-ticks span { position: absolute; transform: translateX(-50%); font-size: 13px; font-weight: 700; color: var(--text); font-variant-numeric: tabular-nums; }
.legend-title { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); font-weight: 700; white-space: nowrap; }
.legend-keys { display: flex; gap: 16px; font-size: 13px; color: var(--muted); align-items: center; flex-wrap: wrap; }
.legend-keys i { display: inline-block; width: 16px; height: 12px; border-radius: 3px; vertical-align: -1px; margin-right: 6px; }
.key-grey { background: rgb(88, 96, 116); }
.key-stale { background: repeating-linear-gradient(135deg, #3b4763 0 3px, #1a2236 3px 6px); outline: 2px dashed var(--amber); outline-offset: -2px; }
.key-lost { background: #141a28; outline: 2px solid var(--red); outline-offset: -2px; }
.legend-keys label { display: inline-flex; align-items: center; gap: 6px; cursor: pointer; color: var(--muted); margin-left: auto; }
.wall-grid { display: grid; gap: var(--gap, 8px); justify-content: center; align-content: start; }
.tile { position: relative; display: flex; flex-direction: column; justify-content: center; align-items: center; text-align: center; border-radius: 8px; overflow: hidden; color: #fff; padding: 3px 4px; line-height: 1.08; box-shadow: inset 0 0 0 1px rgba(0,0,0,.25), 0 1px 2px rgba(0,0,0,.4); font-family: var(--narrow); min-width: 0; }
.tile:hover { text-decoration: none; outline: 3px solid #fff; outline-offset: 1px; z-index: 1; }
.t-name { font-weight: 700; font-size: var(--f-name, 13px); max-width: 100%; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; opacity: .95; }
.t-temp { font-weight: 800; font-size: var(--f-temp, 26px); font-variant-numeric: tabular-nums; letter-spacing: -.02em; margin: 1px 0; font-family: var(--sans); }
.tile.no-temp .t-temp { font-size: var(--f-small, 11px); font-weight: 700; opacity: .85; letter-spacing: .02em; text-transform: uppercase; margin: 3px 0; }
.t-addr { font-size: var(--f-small, 11px); opacity: .85; max-width: 100%; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-variant-numeric: tabular-nums; }
.t-foot { display: flex; gap: 6px; align-items: center; justify-content: center; font-size: var(--f-small, 11px); margin-top: 2px; font-weight: 700; max-width: 100%; white-space: nowrap; font-variant-numeric: tabular-nums; }
.pips { display: inline-flex; gap: 2px; }
.pips i { width: var(--pip, 7px); height: var(--pip, 7px); border-radius: 50%; border: 1.5px solid currentColor; opacity: .9; }
.pips i.on { background: currentColor; }
.t-badge { position: absolute; top: 0; right: 0; font-size: max(9px, calc(var(--f-small, 11px) * .85)); font-weight: 900; letter-spacing: .06em; padding: 1px 4px; border-bottom-left-radius: 5px; display: none; font-family: var(--sans); }
.tile.compact .t-addr { display: none; }
.tile.s-stale { background-image: repeating-linear-gradient(135deg, rgba(10,14,23,.45) 0 6px, transparent 6px 12px); outline: 3px dashed var(--amber); outline-offset: -3px; }
.tile.s-stale .t-badge { display: block; background: var(--amber); color: #1a1200; }
.tile.hot .t-badge { display: block; background: #7f1d1d; color: #fff; }
.tile.s-lost, .tile.s-gone { background-color: #141a28 !important; color: #8d99b2 !important; box-shadow: inset 0 0 0 2px rgba(239,68,68,.85); }
.tile.s-gone { box-shadow: inset 0 0 0 1px var(--line); opacity: .6; }
.tile.s-lost .t-badge { display: block; background: var(--red); color: #fff; }
.tile.s-gone .t-badge { display: block; background: #334155; color: #cbd5e1; }
.tile.s-draining .t-badge { display: block; background: #1e3a8a; color: #dbeafe; }
.wall-empty { margin-top: 60px; }
.running { display: flex; flex-direction: column; gap: 8px; margin-top: 12px; }
.run-row { display: grid; grid-template-columns: minmax(200px, 300px) 1fr auto; gap: 18px; align-items: center; background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 10px 16px; color: var(--text); }
.run-row:hover { text-decoration: none; border-color: var(--accent); }
.run-title { font-weight: 800; font-size: 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.run-title small { color: var(--muted); font-weight: 600; font-size: 14px; margin-left: 6px; }
.run-row .progress { height: 22px; }
.run-row .progress .pct { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; font-weight: 800; font-size: 14px; text-shadow: 0 1px 2px rgba(0,0,0,.6); }
.run-facts { display: flex; gap: 22px; font-size: 15px; color: var(--muted); white-space: nowrap; }
.run-facts b { color: var(--text); font-size: 19px; font-variant-numeric: tabular-nums; margin-right: 5px; }

/* ---- node page ---- */
.node-temp-chip { display: inline-block; width: 18px; height: 18px; border-radius: 5px; vertical-align: -2px; margin-right: 8px; box-shadow: inset 0 0 0 1px rgba(0,0,0,.3); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 10px 24px; margin: 14px 0; }
.facts div { min-width: 0; }
.facts dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .08em; font-weight: 700; }
.facts dd { margin: 2px 0 0; font-size: 16px; overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 14px; margin: 14px 0; }
.chart-box { min-height: 230px; }
.chart-head { display: flex; justify-content: space-between; align-items: baseline; }
.chart-head .now { font-size: 24px; font-weight: 800; font-variant-numeric: tabular-nums; }
svg.chart { display: block; width: 100%; }
svg.chart .grid line { stroke: #223049; stroke-width: 1; }
svg.chart text { fill: #8d99b2; font-size: 12px; font-family: var(--sans); }
.throttled { color: #fca5a5; font-weight: 700; }

/* ---- jobs ---- */
.jobs-head { display: flex; align-items: center; justify-content: space-between; margin-bottom: 12px; }
.jobs-head h1 { margin: 0; font-size: 28px; }
td.progress-cell { min-width: 220px; }
td.progress-cell .progress { height: 14px; flex: 1; }
.pc-wrap { display: flex; align-items: center; }
.pct-text { font-weight: 800; font-variant-numeric: tabular-nums; margin-left: 10px; }
.job-id { font-family: var(--mono); color: var(--muted); font-size: 14px; }
.task-name { font-weight: 800; font-size: 16px; }
.job-layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(320px, 2fr); gap: 14px; margin-top: 14px; align-items: start; }
.job-layout > * { min-width: 0; }
.summary-big { display: flex; flex-direction: column; gap: 14px; }
.big-figure .label { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .08em; font-weight: 700; }
.big-figure .value { font-size: 44px; font-weight: 800; font-variant-numeric: tabular-nums; letter-spacing: -.02em; line-height: 1.1; overflow-wrap: anywhere; }
.big-figure .value.prime { color: #c4b5fd; font-family: var(--mono); font-size: 38px; letter-spacing: -.03em; }
.big-figure .sub { color: var(--muted); font-size: 15px; }
.chunkmap { display: block; width: 100%; image-rendering: pixelated; border-radius: 6px; }
.map-legend { display: flex; gap: 18px; font-size: 14px; color: var(--muted); margin-top: 10px; flex-wrap: wrap; }
.map-legend i { display: inline-block; width: 13px; height: 13px; border-radius: 3px; margin-right: 6px; vertical-align: -2px; }
.map-legend b { color: var(--text); font-variant-numeric: tabular-nums; }
.actions { display: flex; gap: 10px; align-items: center; margin: 14px 0; flex-wrap: wrap; }
.actions:empty { display: none; }
.details { margin-top: 14px; }
.details .result-list { font-size: 15px; }
.job-error { background: rgba(239,68,68,.12); border: 1px solid rgba(239,68,68,.45); color: #fecaca; border-radius: 9px; padding: 10px 14px; margin-top: 12px; }
.result-list { display: grid; grid-template-columns: auto 1fr; gap: 6px 16px; font-size: 16px; margin: 0; }
.result-list dt { color: var(--muted); }
.result-list dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }

/* ---- submit ---- */
.submit { max-width: 820px; }
.task-tabs { display: flex; gap: 8px; margin: 6px 0 16px; }
.task-tabs button { flex: 1; flex-direction: column; align-items: flex-start; text-align: left; padding: 12px 16px; }
.task-tabs button small { color: var(--muted); font-weight: 500; font-size: 13px; }
.task-tabs button.active { border-color: var(--accent); background: rgba(124,58,237,.2); }
.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 14px 18px; }
.field label { display: block; font-weight: 700; margin-bottom: 6px; font-size: 14px; }
.field .hint { color: var(--muted); font-size: 13px; margin-top: 4px; }
.field input[type=text], .field select { width: 100%; font: inherit; font-size: 16px; padding: 9px 12px; border-radius: 8px; border: 1px solid var(--line); background: #0c1221; color: var(--text); font-variant-numeric: tabular-nums; }
.field input:focus, .field select:focus { outline: 2px solid var(--accent); outline-offset: 0; border-color: transparent; }
.field.check { display: flex; align-items: center; gap: 10px; padding-top: 24px; }
.field.check label { margin: 0; font-weight: 600; }
.field.invalid input, .field.invalid select { border-color: var(--red); background: rgba(239,68,68,.08); }
.field .field-error { color: #fca5a5; font-size: 14px; margin-top: 5px; font-weight: 600; }
.form-error { background: rgba(239,68,68,.12); border: 1px solid rgba(239,68,68,.5); color: #fecaca; border-radius: 9px; padding: 11px 14px; margin: 14px 0 0; font-weight: 600; }
.form-actions { margin-top: 20px; display: flex; gap: 12px; align-items: center; }

/* ---- log ---- */
.log-filters { display: flex; gap: 12px; align-items: center; margin-bottom: 12px; flex-wrap: wrap; }
.log-filters .chip { border-radius: 999px; padding: 6px 14px; font-size: 14px; }
.log-filters .chip.off { opacity: .45; }
.log-filters select, .log-filters input { font: inherit; padding: 7px 11px; border-radius: 8px; border: 1px solid var(--line); background: #0c1221; color: var(--text); }
.log-filters input { min-width: 260px; }
.log-count { color: var(--muted); margin-left: auto; font-size: 14px; }
table.log td { font-size: 14px; padding: 7px 10px; }
table.log td.t { font-family: var(--mono); color: var(--muted); white-space: nowrap; width: 1%; }
table.log td.l { white-space: nowrap; width: 1%; }
table.log td.k { color: var(--muted); white-space: nowrap; width: 1%; }
.lvl { font-size: 11px; font-weight: 900; letter-spacing: .06em; padding: 2px 8px; border-radius: 5px; text-transform: uppercase; }
.lvl-info { background: rgba(96,165,250,.15); color: #93c5fd; }
.lvl-warn { background: rgba(245,165,36,.18); color: #fcd34d; }
.lvl-error { background: rgba(239,68,68,.2); color: #fca5a5; }
tr.ev-error td { background: rgba(239,68,68,.05); }

@media (max-width: 1100px) {
  .job-layout { grid-template-columns: 1fr; }
  .top-stats { display: none; }
  .legend { min-width: 0; }
}
`;
