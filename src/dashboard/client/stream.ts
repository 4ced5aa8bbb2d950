/**
 * The live connection: one server-sent-events stream (`/api/stream`: a snapshot, then deltas). A
 * `resync` event (the head dropped a stream that did not keep up) reconnects at once; a reconnect
 * starts with a fresh snapshot, so the state is whole again. If the stream is refused or fails three
 * times in a row, the page polls `/api/dashboard/snapshot` every 5 s
 * and tries the stream again every 15 s.
 */
import { api } from './api.js';
import { byId, setText } from './dom.js';
import type { Delta, Snapshot } from './model.js';
import { applyDelta, applySnapshot } from './state.js';

let es: EventSource | null = null;
let pollTimer: ReturnType<typeof setInterval> | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let errorsInRow = 0;

function setConn(state: string, text?: string): void {
  const el = byId('conn');
  el.setAttribute('data-state', state);
  setText(el.querySelector('.conn-text'), text ?? state);
}

export function connect(): void {
  if (retryTimer) {
    clearTimeout(retryTimer);
    retryTimer = null;
  }
  es?.close();
  const stream = new EventSource('/api/stream');
  es = stream;
  stream.addEventListener('snapshot', (e) => {
    errorsInRow = 0;
    setConn('live');
    stopPolling();
    applySnapshot(JSON.parse((e as MessageEvent<string>).data) as Snapshot);
  });
  stream.addEventListener('delta', (e) => applyDelta(JSON.parse((e as MessageEvent<string>).data) as Delta));
  // the head dropped this stream for not keeping up (issue 17, item 8): start again from a snapshot
  stream.addEventListener('resync', () => {
    setConn('reconnecting');
    connect();
  });
  stream.onerror = () => {
    errorsInRow++;
    if (stream.readyState === EventSource.CLOSED || errorsInRow >= 3) {
      // the stream is refused or keeps failing: poll until it comes back
      stream.close();
      es = null;
      setConn('polling', 'polling');
      startPolling();
      retryTimer = setTimeout(connect, 15000);
    } else setConn('reconnecting');
  };
}

export function startPolling(): void {
  if (pollTimer) return;
  pollOnce();
  pollTimer = setInterval(pollOnce, 5000);
}

function stopPolling(): void {
  if (pollTimer) {
    clearInterval(pollTimer);
    pollTimer = null;
  }
}

function pollOnce(): void {
  api<Snapshot>('GET', '/api/dashboard/snapshot').then(
    (r) => {
      if (r.ok) applySnapshot(r.json);
    },
    () => setConn('reconnecting', 'offline'),
  );
}

/** The session is gone (401): stop everything and say how to log in again. */
export function loggedOut(): void {
  byId('logged-out').hidden = false;
  es?.close();
  es = null;
  stopPolling();
  if (retryTimer) clearTimeout(retryTimer);
  setConn('connecting', 'logged out');
}
