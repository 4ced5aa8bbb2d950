import { BERRY_SVG_BODY } from './favicon-svg.js';

/** The one page of the dashboard; the script draws the view the URL names. Versions bust caches. */
export function pageHtml(v: { css: string; js: string; icon: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>bramble</title>
<link rel="icon" type="image/svg+xml" href="/assets/favicon.svg?v=${v.icon}">
<link rel="stylesheet" href="/assets/app.css?v=${v.css}">
<script src="/assets/app.js?v=${v.js}" defer></script>
</head>
<body>
<div id="insecure" class="insecure" hidden>INSECURE MODE: plaintext connections and no worker authentication (the head runs with --insecure). Anyone on this network can join or watch.</div>
<header class="top">
  <a class="brand" href="/" aria-label="bramble: node wall"><svg class="berry" viewBox="0 0 64 64" aria-hidden="true">${BERRY_SVG_BODY}</svg><span>bramble</span></a>
  <nav class="nav">
    <a href="/" data-nav="wall">Nodes</a>
    <a href="/jobs" data-nav="jobs">Jobs</a>
    <a href="/jobs/new" data-nav="submit">New job</a>
    <a href="/log" data-nav="log">Log</a>
  </nav>
  <div class="top-stats" id="top-stats"></div>
  <div class="ha" id="ha" hidden></div>
  <div class="conn" id="conn" data-state="connecting"><span class="dot"></span><span class="conn-text">connecting</span></div>
</header>
<main id="view"><noscript>The bramble dashboard needs JavaScript.</noscript></main>
<div id="logged-out" class="logged-out" hidden><div><h2>Logged out</h2><p>Open the login URL that <code>bramble head</code> printed when it started (<code>https://HEAD:7080/login?token=…</code>; the token is the file <code>admin-token</code> in the head's data dir).</p></div></div>
</body>
</html>
`;
}
