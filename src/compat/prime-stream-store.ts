import Database from 'better-sqlite3';

/** What seed 004's prime head showed: largest prime, number of unique primes, reporting addresses. */
export interface PrimeStreamSnapshot {
  /** Unique primes received (decimal string). */
  count: string;
  /** Largest prime received (decimal string), null before the first. */
  max: string | null;
  /** Addresses that sent values, first seen first (at most `maxReporters`). */
  reporters: string[];
  reportersTotal: number;
  /** Values received, accepted or not. */
  received: number;
  /** Primes received again (several instances covering the same range). */
  duplicates: number;
  /** Values that were not primes, or not numbers. */
  rejected: number;
  /** The sources that stored the most primes (at most 10), with how many each. */
  topSources: { addr: string; stored: number }[];
}

/** Caps on what the stream may store (issue 17, item 20: prime senders could fill the disk). */
export interface PrimeStreamLimits {
  /** Unique primes stored in all; beyond, new values are refused. */
  maxTotal: number;
  /** Unique primes one source address may store. */
  maxPerSource: number;
  /** Source addresses kept; values from further addresses are refused. */
  maxSources: number;
}

/** Why `admit` refused a value: the total is full, the source's share is, or there are too many sources. */
export type PrimeRefusal = 'total' | 'source' | 'sources';

export interface PrimeStreamStoreOptions {
  /** Queued values are written at least this often (one transaction per batch). */
  flushMs?: number;
  /** A batch is written at once when it reaches this many values. */
  maxQueue?: number;
  /** A background write failed (disk full...); the batch is dropped. */
  onError?: (err: Error) => void;
  /** Default: no cap (tests of the store alone). */
  limits?: PrimeStreamLimits;
  now?: () => number;
}

function key(p: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(p);
  return b;
}

/**
 * The legacy prime stream's state, on disk (its own SQLite file in the head's data dir): every unique
 * prime as an 8-byte big-endian key (so key order is numeric order), the reporting addresses and the
 * counters. Seed 004's head kept a set in memory and ran out of it; this keeps only a small batch in
 * memory (written every `flushMs` in one transaction). WAL with synchronous=NORMAL: a power cut may
 * lose the last batch, never the file.
 */
export class PrimeStreamStore {
  private readonly db: Database.Database;
  private queue: { p: bigint | null; from: string }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly flushMs: number;
  private readonly maxQueue: number;
  private readonly now: () => number;
  private counters = { count: 0, received: 0, duplicates: 0, rejected: 0 };
  /** Unique primes each source stored (on disk) and has queued (not yet written). */
  private readonly stored = new Map<string, number>();
  private readonly queuedBy = new Map<string, number>();
  private queuedPrimes = 0;
  readonly limits: PrimeStreamLimits;
  private readonly stmt: {
    insert: Database.Statement<[Buffer]>;
    reporter: Database.Statement<[string, number, number, number, number]>;
    setStat: Database.Statement<[string, number]>;
    max: Database.Statement<[], { p: Buffer }>;
    page: Database.Statement<[Buffer, number], { p: Buffer }>;
    reporters: Database.Statement<[number], { addr: string }>;
    reportersTotal: Database.Statement<[], { n: number }>;
  };
  private closed = false;

  constructor(
    readonly file: string,
    private readonly o: PrimeStreamStoreOptions = {},
  ) {
    this.flushMs = o.flushMs ?? 100;
    this.maxQueue = o.maxQueue ?? 4096;
    this.now = o.now ?? Date.now;
    this.limits = o.limits ?? { maxTotal: Number.MAX_SAFE_INTEGER, maxPerSource: Number.MAX_SAFE_INTEGER, maxSources: Number.MAX_SAFE_INTEGER };
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS primes (p BLOB PRIMARY KEY) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS reporters (addr TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, n INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS stats (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
    `);
    // files from before the per-source cap have no `stored` column: their sources start at 0
    const cols = this.db.prepare('PRAGMA table_info(reporters)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'stored')) this.db.exec('ALTER TABLE reporters ADD COLUMN stored INTEGER NOT NULL DEFAULT 0');
    this.stmt = {
      insert: this.db.prepare('INSERT OR IGNORE INTO primes (p) VALUES (?)'),
      reporter: this.db.prepare(
        'INSERT INTO reporters (addr, first_seen, last_seen, n, stored) VALUES (?, ?, ?, ?, ?) ON CONFLICT (addr) DO UPDATE SET last_seen = excluded.last_seen, n = n + excluded.n, stored = stored + excluded.stored',
      ),
      setStat: this.db.prepare('INSERT INTO stats (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v'),
      max: this.db.prepare('SELECT p FROM primes ORDER BY p DESC LIMIT 1'),
      page: this.db.prepare('SELECT p FROM primes WHERE p > ? ORDER BY p LIMIT ?'),
      reporters: this.db.prepare('SELECT addr FROM reporters ORDER BY first_seen, addr LIMIT ?'),
      reportersTotal: this.db.prepare('SELECT count(*) AS n FROM reporters'),
    };
    for (const row of this.db.prepare('SELECT k, v FROM stats').all() as { k: string; v: number }[]) {
      if (row.k in this.counters) this.counters[row.k as keyof typeof this.counters] = row.v;
    }
    for (const row of this.db.prepare('SELECT addr, stored FROM reporters').all() as { addr: string; stored: number }[]) this.stored.set(row.addr, row.stored);
  }

  /**
   * Whether a value from `from` may be taken, before it is parsed and checked: null, or why not. Counts what is
   * queued as if it were new (a duplicate is known only when it is written), so the caps hold exactly.
   */
  admit(from: string): PrimeRefusal | null {
    if (this.counters.count + this.queuedPrimes >= this.limits.maxTotal) return 'total';
    const mine = this.stored.get(from);
    if (mine === undefined && this.stored.size >= this.limits.maxSources) return 'sources';
    if ((mine ?? 0) + (this.queuedBy.get(from) ?? 0) >= this.limits.maxPerSource) return 'source';
    return null;
  }

  /** Unique primes stored by `from`, written or queued. */
  storedBy(from: string): number {
    return (this.stored.get(from) ?? 0) + (this.queuedBy.get(from) ?? 0);
  }

  /** Queues a prime (already checked) from an address; null counts a refused value (not prime, not a number). */
  add(p: bigint | null, from: string): void {
    if (this.closed) return;
    this.queue.push({ p, from });
    if (!this.stored.has(from)) this.stored.set(from, 0);
    if (p !== null) {
      this.queuedPrimes++;
      this.queuedBy.set(from, (this.queuedBy.get(from) ?? 0) + 1);
    }
    if (this.queue.length >= this.maxQueue) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        try {
          this.flush();
        } catch (err) {
          this.o.onError?.(err as Error);
        }
      }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes the queued values in one transaction. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.closed || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.queuedPrimes = 0;
    this.queuedBy.clear();
    const now = this.now();
    const c = { ...this.counters };
    const by = new Map<string, { n: number; stored: number }>();
    this.db.transaction(() => {
      for (const { p, from } of batch) {
        c.received++;
        const r = by.get(from) ?? { n: 0, stored: 0 };
        by.set(from, r);
        if (p === null) {
          c.rejected++;
          continue;
        }
        r.n++;
        if (this.stmt.insert.run(key(p)).changes === 1) {
          c.count++;
          r.stored++;
        } else c.duplicates++;
      }
      for (const [addr, r] of by) this.stmt.reporter.run(addr, now, now, r.n, r.stored);
      for (const k of ['count', 'received', 'duplicates', 'rejected'] as const) this.stmt.setStat.run(k, c[k]);
    })();
    this.counters = c;
    for (const [addr, r] of by) this.stored.set(addr, (this.stored.get(addr) ?? 0) + r.stored);
  }

  snapshot(maxReporters = 1000): PrimeStreamSnapshot {
    this.flush();
    const max = this.stmt.max.get();
    return {
      count: String(this.counters.count),
      max: max ? max.p.readBigUInt64BE(0).toString() : null,
      reporters: this.stmt.reporters.all(maxReporters).map((r) => r.addr),
      reportersTotal: this.stmt.reportersTotal.get()?.n ?? 0,
      received: this.counters.received,
      duplicates: this.counters.duplicates,
      rejected: this.counters.rejected,
      topSources: [...this.stored]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, 10)
        .map(([addr, stored]) => ({ addr, stored })),
    };
  }

  /**
   * Every unique prime in ascending order, one per line, in text pieces of `pageSize` primes (the
   * table is read page by page, never whole).
   */
  *text(pageSize = 8192): Generator<string> {
    this.flush();
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      if (this.closed) return;
      const rows = this.stmt.page.all(after, pageSize);
      if (rows.length === 0) return;
      let s = '';
      for (const r of rows) s += r.p.readBigUInt64BE(0).toString() + '\n';
      yield s;
      after = (rows[rows.length - 1] as { p: Buffer }).p;
      if (rows.length < pageSize) return;
    }
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.db.close();
    }
  }
}
