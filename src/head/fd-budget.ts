import { readFileSync, readdirSync } from 'node:fs';

/**
 * The head's file descriptor budget. Node has no setrlimit; on Linux, Node itself raises its soft
 * RLIMIT_NOFILE to the hard limit at start, so the soft limit read here is already as high as an
 * unprivileged process can make it. What is left is to size every listener's caps from it, so no
 * flood on one port can take the descriptors the others need.
 */
export interface FdLimits {
  soft: number;
  hard: number;
  /** Descriptors open when the budget was made (journal, logs, listeners...). */
  inUse: number;
  /** False when /proc could not be read (not Linux): the figures are assumptions. */
  measured: boolean;
}

export interface FdBudget {
  limits: FdLimits;
  /** Kept free for the journal's files, the commit thread, outgoing sockets, logs. */
  spare: number;
  http: { maxConnections: number; maxPerAddress: number };
  workers: { maxPending: number; maxPendingPerAddress: number; maxConnections: number };
}

export interface FdBudgetRequest {
  httpMaxConnections?: number;
  httpMaxPerAddress?: number;
  maxPending?: number;
  maxPendingPerAddress?: number;
}

/** Debian's default soft limit, assumed where /proc cannot be read. */
const ASSUMED_LIMIT = 1024;
const SPARE = 64;

function parseLimit(v: string | undefined): number {
  if (v === undefined) return ASSUMED_LIMIT;
  return v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** Reads `Max open files` from /proc/self/limits and counts /proc/self/fd. */
export function readFdLimits(proc = '/proc/self'): FdLimits {
  try {
    const line = readFileSync(`${proc}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line ? /^Max open files\s+(\S+)\s+(\S+)/.exec(line) : null;
    const soft = parseLimit(m?.[1]);
    const hard = parseLimit(m?.[2]);
    const inUse = readdirSync(`${proc}/fd`).length;
    return { soft, hard, inUse, measured: m !== null };
  } catch {
    return { soft: ASSUMED_LIMIT, hard: ASSUMED_LIMIT, inUse: 32, measured: false };
  }
}

/**
 * Sizes the caps from the limit: a spare of 64 descriptors, then the HTTPS port and the worker
 * port's unauthenticated connections get at most a quarter of the rest each (256 when there is
 * room), and authenticated workers everything else, so they always have at least half. A cap
 * asked for explicitly is kept as asked (the start-up line says when it overcommits).
 */
export function fdBudget(limits: FdLimits, req: FdBudgetRequest = {}): FdBudget {
  const avail = Math.max(16, Math.min(limits.soft, 1_000_000) - limits.inUse - SPARE);
  const quarter = Math.max(4, Math.floor(avail / 4));
  const httpMax = req.httpMaxConnections ?? Math.min(256, quarter);
  const pending = req.maxPending ?? Math.min(256, quarter);
  const workers = Math.max(1, avail - httpMax - pending);
  return {
    limits,
    spare: SPARE,
    http: { maxConnections: httpMax, maxPerAddress: Math.min(req.httpMaxPerAddress ?? 32, httpMax) },
    workers: { maxPending: pending, maxPendingPerAddress: Math.min(req.maxPendingPerAddress ?? 32, pending), maxConnections: pending + workers },
  };
}

/** The start-up line. */
export function describeFdBudget(b: FdBudget): string {
  const l = b.limits;
  const src = l.measured ? '' : ' (assumed: /proc/self/limits unreadable)';
  const raise = l.soft < l.hard ? `; raise it with ulimit -n ${l.hard}` : l.hard < 65536 ? '; the hard limit caps it (raise with LimitNOFILE= in the service unit, or ulimit -Hn as root)' : '';
  const over = b.http.maxConnections + b.workers.maxConnections + b.spare + l.inUse > l.soft ? ' OVERCOMMITTED by explicit caps' : '';
  return `descriptors: limit ${l.soft} (hard ${l.hard})${src}${raise}, ${l.inUse} in use, ${b.spare} spare; HTTPS at most ${b.http.maxConnections} connections (${b.http.maxPerAddress} per address); worker port at most ${b.workers.maxPending} unauthenticated (${b.workers.maxPendingPerAddress} per address), ${b.workers.maxConnections - b.workers.maxPending} workers${over}`;
}
