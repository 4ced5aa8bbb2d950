import type { HeadEvent } from '../ports/index.js';

/** Where the hub gets its data: `ClusterViews` in the head, a fake in unit tests. */
export interface StreamSource {
  onChange(l: (what: 'jobs' | 'nodes', id: string) => void): () => void;
  onEvent(l: (e: HeadEvent) => void): () => void;
  snapshot(): object;
  nodes(ids: Iterable<string>): object[];
  jobs(ids: Iterable<string>): object[];
  changedWithoutEvent(): { nodes: string[]; jobs: string[] };
}

/** The part of an HTTP response the hub writes to (`http.ServerResponse` satisfies it). */
export interface StreamSink {
  write(chunk: string): boolean;
  end(): void;
  /** Closes at once, dropping what is buffered. */
  destroy(): void;
  /** Bytes written and not yet taken by the peer (the response's buffer and its socket's). */
  readonly writableLength: number;
  on(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
}

export interface StreamHubOptions {
  /** Deltas are coalesced and sent at most this often (default 300 ms). */
  intervalMs?: number;
  /** A comment line this often keeps proxies and idle timeouts from closing the stream (default 15 s). */
  pingMs?: number;
  /** Streams open at once; more are refused with 503 (default 64). */
  maxClients?: number;
  /** New log events carried by one delta; the rest are counted as skipped (default 200). */
  maxEventsPerDelta?: number;
  /**
   * Bytes a client may have waiting in the head (response and socket buffers) after a write; past it
   * the client is closed at once (default 8 MiB). Issue 17, item 8: three clients that did not read
   * took a head to 1.87 GB.
   */
  maxBufferedBytes?: number;
  /** A client whose buffer has not drained for this long is dropped, told to resync (default 10 s). */
  slowMs?: number;
}

interface Client {
  sink: StreamSink;
  /** The last write did not fit the socket buffer: write nothing more until it drains. */
  congested: boolean;
  /** Deltas were dropped while congested: send a whole snapshot at the next drain. */
  missed: boolean;
  /** When the client became congested (ms, Date.now), 0 when not. */
  since: number;
}

/**
 * Server-sent events for the dashboard. Head events only mark what changed (a set insert); a timer
 * turns the marks into one delta every `intervalMs`, serialised once for all clients. A client
 * whose socket buffer is full gets nothing until it drains, then one fresh snapshot: a slow browser
 * costs the head one dropped string per interval, never memory or time. A client still full after
 * `slowMs` is sent `event: resync` and closed (destroyed 2 s later if it cannot take even that); one
 * with more than `maxBufferedBytes` waiting is destroyed at once. The page reconnects and starts
 * again from a snapshot.
 */
export class StreamHub {
  readonly stats = { deltasSent: 0, deltasDropped: 0, snapshotsSent: 0, refused: 0, dropped: 0 };
  private readonly clients = new Set<Client>();
  private readonly dirtyNodes = new Set<string>();
  private readonly dirtyJobs = new Set<string>();
  private events: HeadEvent[] = [];
  private eventsSkipped = 0;
  private readonly unsubscribe: (() => void)[];
  private flushTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private readonly intervalMs: number;
  private readonly pingMs: number;
  private readonly maxClients: number;
  private readonly maxEvents: number;
  private readonly maxBuffered: number;
  private readonly slowMs: number;
  private closed = false;

  constructor(
    private readonly source: StreamSource,
    o: StreamHubOptions = {},
  ) {
    this.intervalMs = o.intervalMs ?? 300;
    this.pingMs = o.pingMs ?? 15_000;
    this.maxClients = o.maxClients ?? 64;
    this.maxEvents = o.maxEventsPerDelta ?? 200;
    this.maxBuffered = o.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.slowMs = o.slowMs ?? 10_000;
    this.unsubscribe = [
      source.onChange((what, id) => {
        if (this.clients.size === 0) return;
        (what === 'nodes' ? this.dirtyNodes : this.dirtyJobs).add(id);
      }),
      source.onEvent((e) => {
        if (this.clients.size === 0) return;
        if (this.events.length < this.maxEvents) this.events.push(e);
        else this.eventsSkipped++;
      }),
    ];
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get congestedCount(): number {
    let n = 0;
    for (const c of this.clients) if (c.congested) n++;
    return n;
  }

  /** Starts streaming to `sink` with a snapshot. False when the hub is full or closed. */
  add(sink: StreamSink): boolean {
    if (this.closed || this.clients.size >= this.maxClients) {
      this.stats.refused++;
      return false;
    }
    const c: Client = { sink, congested: false, missed: false, since: 0 };
    this.clients.add(c);
    sink.on('close', () => this.remove(c));
    sink.on('error', () => this.remove(c)); // a write after the peer went away: forget it, never crash the head
    sink.on('drain', () => {
      if (!this.clients.has(c)) return;
      c.congested = false;
      c.since = 0;
      if (c.missed) {
        c.missed = false;
        this.sendSnapshot(c);
      }
    });
    this.write(c, 'retry: 3000\n\n');
    this.sendSnapshot(c);
    this.startTimers();
    return true;
  }

  private remove(c: Client): void {
    if (!this.clients.delete(c)) return;
    if (this.clients.size === 0) this.stopTimers();
  }

  private startTimers(): void {
    if (this.flushTimer) return;
    this.flushTimer = setInterval(() => this.flush(), this.intervalMs);
    this.flushTimer.unref();
    this.pingTimer = setInterval(() => this.broadcast(': ping\n\n', false), this.pingMs);
    this.pingTimer.unref();
  }

  private stopTimers(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.flushTimer = null;
    this.pingTimer = null;
    this.dirtyNodes.clear();
    this.dirtyJobs.clear();
    this.events = [];
    this.eventsSkipped = 0;
  }

  private write(c: Client, text: string): void {
    try {
      if (!c.sink.write(text) && !c.congested) {
        c.congested = true;
        c.since = Date.now();
      }
      if (c.sink.writableLength > this.maxBuffered) this.drop(c, false);
    } catch {
      this.remove(c);
    }
  }

  /**
   * Drops a client that does not keep up: told to resync when it may still read (`event: resync`,
   * then the stream ends; destroyed 2 s later if it has not taken that), else destroyed at once.
   */
  private drop(c: Client, tell: boolean): void {
    if (!this.clients.has(c)) return;
    this.remove(c);
    this.stats.dropped++;
    try {
      if (!tell) return c.sink.destroy();
      c.sink.write('event: resync\ndata: {"reason":"slow"}\n\n');
      c.sink.end();
      setTimeout(() => c.sink.destroy(), 2000).unref();
    } catch {
      /* already gone */
    }
  }

  /** Drops every client whose buffer has not drained for `slowMs` (the flush timer calls this). */
  private dropSlow(): void {
    const now = Date.now();
    for (const c of [...this.clients]) if (c.congested && now - c.since >= this.slowMs) this.drop(c, true);
  }

  private sendSnapshot(c: Client): void {
    this.stats.snapshotsSent++;
    this.write(c, 'event: snapshot\ndata: ' + JSON.stringify(this.source.snapshot()) + '\n\n');
  }

  /** Writes `text` to every client that can take it; the others miss it (and resync if it was a delta). */
  private broadcast(text: string, isDelta: boolean): void {
    for (const c of this.clients) {
      if (c.congested) {
        if (isDelta) {
          c.missed = true;
          this.stats.deltasDropped++;
        }
        continue;
      }
      this.write(c, text);
      if (isDelta) this.stats.deltasSent++;
    }
  }

  /** Sends what changed since the last flush as one delta (the timer calls this; tests may too). */
  flush(): void {
    this.dropSlow();
    if (this.clients.size === 0) return;
    const extra = this.source.changedWithoutEvent();
    for (const id of extra.nodes) this.dirtyNodes.add(id);
    for (const id of extra.jobs) this.dirtyJobs.add(id);
    if (this.dirtyNodes.size === 0 && this.dirtyJobs.size === 0 && this.events.length === 0 && this.eventsSkipped === 0) return;
    const delta = {
      now: Date.now(),
      nodes: this.source.nodes(this.dirtyNodes),
      jobs: this.source.jobs(this.dirtyJobs),
      events: this.events,
      eventsSkipped: this.eventsSkipped,
    };
    this.dirtyNodes.clear();
    this.dirtyJobs.clear();
    this.events = [];
    this.eventsSkipped = 0;
    this.broadcast('event: delta\ndata: ' + JSON.stringify(delta) + '\n\n', true);
  }

  /** Ends every stream (the HTTP server closes only when they are gone). */
  close(): void {
    this.closed = true;
    this.stopTimers();
    for (const u of this.unsubscribe) u();
    for (const c of [...this.clients]) {
      this.clients.delete(c);
      c.sink.end();
    }
  }
}
