import path from 'node:path';
import type net from 'node:net';
import type { Logger } from 'pino';
import { InputError } from '../core/index.js';
import type { CompatHost } from '../ports/index.js';
import { AllowList, DEFAULT_ALLOW } from './allow-list.js';
import { isPrime } from '../kernels/index.js';
import { CheckPool } from './check-pool.js';
import { CompatListener, readLengthPrefixed } from './listener.js';
import { PrimeStreamStore } from './prime-stream-store.js';
import type { PrimeRefusal, PrimeStreamSnapshot } from './prime-stream-store.js';
import { TokenBuckets } from './token-bucket.js';
import { MAX_SEED004_BYTES, parsePrimeValue, parseTemperatureReport } from './seed004.js';
import { TextServer } from './text-server.js';
import type { TextServerStats } from './text-server.js';

/** The seed-compat listeners of a head. Every port is off unless given (0 = any free port). */
export interface CompatOptions {
  /** Seed 000 text protocol (`JobID:Start:End` / `JobID:3,5,7`): `--compat-text PORT`. */
  text?: number | null;
  /** Seed 004 temperature reports (theirs: 5050): `--compat-telemetry PORT`. */
  telemetry?: number | null;
  /** Seed 004 prime stream (theirs: 4040): `--compat-primes PORT`. */
  primes?: number | null;
  /** Address the listeners bind (`--compat-bind`; the CLI defaults it to the head's `--bind`). */
  bind: string;
  /**
   * Networks allowed to connect (`--compat-allow`): CIDRs, single addresses, or `lan` (the subnets of
   * this machine's interfaces). Default: loopback only (127.0.0.0/8, ::1/128): these formats carry no
   * authentication, so the networks of the lab must be named.
   */
  allow?: readonly string[];
  /** The head's data dir: the prime stream is kept in `compat-primes.db` there. */
  dataDir: string;
  /** Seed 000 clients take chunks of this job only (`--compat-job`); default: the first primes --list job in line. */
  job?: string | null;
  /** Seed 000: time a client has to answer one chunk before it is closed and its chunk returns (default 10 min). */
  textTimeoutMs?: number;
  /** Seed 000: jobs with wider chunks are not given to text clients (default 10^7 numbers). */
  textMaxChunk?: bigint;
  /** Seed 004: a connection silent this long, or a message not complete in this time, is closed (default 5 s). */
  idleMs?: number;
  /** Connections open at once per listener (default 1024). */
  maxConnections?: number;
  /** Connections per source address on each listener (default COMPAT_MAX_PER_ADDRESS). */
  maxPerAddress?: number;
  /** Legacy temperature tiles created at most (default 4096): reports naming ever more addresses are ignored. */
  maxLegacyNodes?: number;
  /** Seed 000: a client with no chunk, or whose answer has stopped, is closed after this long (`--compat-idle-s`, default 300 s). */
  textIdleMs?: number;
  /** Seed 000: blank characters a client may send while it has no chunk (default 64). */
  textMaxBlanks?: number;
  /** Seed 000: threads that check answers off the event loop (`--compat-check-threads`, default 1). */
  checkThreads?: number;
  /** Seed 000: check time one source address may use per minute, ms (`--compat-check-ms`, default 20,000). */
  checkBudgetMs?: number;
  /** Seed 000: one check running longer than this fails (default 120 s). */
  checkTimeoutMs?: number;
  /** Seed 004: unique primes stored in all (`--compat-primes-max`, default 10,000,000). */
  primesMax?: number;
  /** Seed 004: unique primes one source address may store (`--compat-primes-per-source`, default 1,000,000). */
  primesPerSource?: number;
  /** Seed 004: values per second from one source address (`--compat-primes-rate`, default 5,000; a burst of 10 s of it). */
  primesRate?: number;
  /** Seed 004: source addresses kept (default 4096). */
  primesMaxSources?: number;
}

/** The limits of the compat listeners, as `/api/compat` shows them (issue 17, items 19 and 20). */
export interface CompatLimits {
  /** Connections open at once per listener (seed 000: the oldest waiting client is evicted for a new one). */
  maxConnections: number;
  /** Connections per source address on each listener. */
  maxPerAddress: number;
  /** Seed 000: seconds a client may wait with no chunk, or stall mid-answer. */
  idleS: number;
  /** Seed 000: blank characters allowed while a client has no chunk. */
  maxBlanks: number;
  /** Seed 000: answer check threads (cores at most) and check time per source address per minute. */
  checkThreads: number;
  checkBudgetMsPerMinute: number;
  /** Seed 004: a connection silent this long is closed (ms). */
  idleMs: number;
  /** Seed 004 prime stream: stored in all, per source, sources, values per second per source (and the burst). */
  primesMax: number;
  primesPerSource: number;
  primesMaxSources: number;
  primesRate: number;
  primesBurst: number;
}

/** The limits in force for these options (defaults filled in); throws an InputError naming a bad one. */
export function compatLimits(options: Partial<CompatOptions>): CompatLimits {
  const primesRate = checkPositive(options.primesRate, '--compat-primes-rate', 5000);
  return {
    maxConnections: checkPositive(options.maxConnections, '--compat-max-connections', 1024),
    // issue 17, item 20: 1,024 idle connections from one address shut a real client out
    maxPerAddress: checkPositive(options.maxPerAddress, 'maxPerAddress', COMPAT_MAX_PER_ADDRESS),
    idleS: checkPositive(options.textIdleMs, '--compat-idle-s', 300_000) / 1000,
    maxBlanks: checkPositive(options.textMaxBlanks, 'textMaxBlanks', 64),
    checkThreads: checkPositive(options.checkThreads, '--compat-check-threads', 1),
    checkBudgetMsPerMinute: checkPositive(options.checkBudgetMs, '--compat-check-ms', 20_000),
    idleMs: checkPositive(options.idleMs, 'idleMs', 5000),
    primesMax: checkPositive(options.primesMax, '--compat-primes-max', 10_000_000),
    primesPerSource: checkPositive(options.primesPerSource, '--compat-primes-per-source', 1_000_000),
    primesMaxSources: checkPositive(options.primesMaxSources, 'primesMaxSources', 4096),
    primesRate,
    primesBurst: primesRate * 10,
  };
}

export interface CompatPorts {
  text: number | null;
  telemetry: number | null;
  primes: number | null;
}

/** Connections one source address may hold on each compat listener. */
export const COMPAT_MAX_PER_ADDRESS = 64;

export interface CompatStatus {
  bind: string;
  allow: string[];
  /** The caps in force (issue 17, items 19 and 20). */
  limits: CompatLimits;
  ports: CompatPorts;
  text: TextServerStats | null;
  telemetry: { reports: number; bad: number; refusedConnections: number; refusedPerAddress: number; nodes: number } | null;
  primes: (PrimeStreamSnapshot & PrimeRefusals & { bad: number; refusedConnections: number; refusedPerAddress: number }) | null;
}

/** Seed 004 prime values held back or refused by the limits, since the head started. */
export interface PrimeRefusals {
  /** Messages that had to wait for the source's rate (--compat-primes-rate): slowed, not lost. */
  throttled: number;
  /** Values refused: the total was full (--compat-primes-max). */
  refusedTotalCap: number;
  /** Values refused: their source had stored its share (--compat-primes-per-source). */
  refusedSourceCap: number;
  /** Values refused: from a new source when primesMaxSources were known already. */
  refusedSources: number;
}

export interface Compat {
  readonly ports: CompatPorts;
  /** The legacy prime stream (null when --compat-primes is off). */
  readonly primes: PrimeStreamStore | null;
  status(): CompatStatus;
  close(): Promise<void>;
}

/** One warning per key per minute, in a bounded table: refused addresses must not flood the log. */
class WarnLimiter {
  private readonly last = new Map<string, number>();
  constructor(private readonly now: () => number) {}
  ok(key: string): boolean {
    const t = this.now();
    const prev = this.last.get(key);
    if (prev !== undefined && t - prev < 60_000) return false;
    if (this.last.size >= 1024) this.last.clear();
    this.last.set(key, t);
    return true;
  }
}

function checkPort(v: number | null | undefined, flag: string): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new InputError(flag, `${flag} must be a port number from 0 to 65535 (got ${String(v)})`);
  return v;
}

function checkPositive(v: number | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new InputError(flag, `${flag} must be a positive integer (got ${String(v)})`);
  return v;
}

/**
 * Opens the seed-compat listeners a head was asked for and warns (in the head's event log) which are
 * open and to whom. Options are validated first; every error names its flag.
 */
export async function startCompat(head: CompatHost, options: CompatOptions, logger?: Logger): Promise<Compat> {
  const log = (logger ?? head.log).child({ component: 'compat' });
  const ports = { text: checkPort(options.text, '--compat-text'), telemetry: checkPort(options.telemetry, '--compat-telemetry'), primes: checkPort(options.primes, '--compat-primes') };
  const allow = new AllowList(options.allow ?? DEFAULT_ALLOW);
  if (!options.bind) throw new InputError('--compat-bind', '--compat-bind must be an address to listen on');
  const limits = compatLimits(options);
  const { idleMs, maxConnections, maxPerAddress } = limits;
  const checkTimeoutMs = checkPositive(options.checkTimeoutMs, 'checkTimeoutMs', 120_000);
  const maxLegacyNodes = checkPositive(options.maxLegacyNodes, 'maxLegacyNodes', 4096);
  const timeoutMs = checkPositive(options.textTimeoutMs, '--compat-timeout-ms', 600_000);
  const maxChunk = options.textMaxChunk ?? 10_000_000n;
  if (maxChunk < 1n) throw new InputError('--compat-max-chunk', `--compat-max-chunk must be a positive integer (got ${maxChunk})`);
  const job = options.job ?? null;

  const limiter = new WarnLimiter(() => head.clock.now());
  const warn = (key: string, msg: string, level: 'info' | 'warn' = 'warn'): void => {
    if (limiter.ok(key)) head.event(level, 'compat', msg);
    else log.debug(msg);
  };
  const refused = (what: string) => (remote: string, why: 'not allowed' | 'too many connections' | 'too many from this address'): void => {
    if (why === 'not allowed') warn(`refused ${what} ${remote}`, `refused a ${what} connection from ${remote}: not in --compat-allow (${allow.toString()})`);
    else if (why === 'too many from this address') warn(`busy ${what} ${remote}`, `refused a ${what} connection from ${remote}: ${maxPerAddress} from that address are open already`);
    else warn(`full ${what}`, `refused a ${what} connection from ${remote}: ${maxConnections} connections are open already`);
  };
  const base = { host: options.bind, allow, maxConnections, maxPerAddress };

  let text: TextServer | null = null;
  let telemetry: CompatListener | null = null;
  let primesListener: CompatListener | null = null;
  let store: PrimeStreamStore | null = null;
  const tele = { reports: 0, bad: 0, nodes: new Set<string>() };
  const prim = { bad: 0, throttled: 0, refusedTotalCap: 0, refusedSourceCap: 0, refusedSources: 0 };
  const pool = new CheckPool({ threads: limits.checkThreads, budgetMsPerMinute: limits.checkBudgetMsPerMinute, timeoutMs: checkTimeoutMs, now: () => head.clock.now() });
  const rate = new TokenBuckets(limits.primesRate, limits.primesBurst, () => head.clock.now());
  const open: CompatPorts = { text: null, telemetry: null, primes: null };

  const closeAll = async (): Promise<void> => {
    await text?.close();
    await telemetry?.close();
    await primesListener?.close();
    store?.close();
    await pool.close();
  };

  try {
    if (ports.text !== null) {
      text = new TextServer(head, {
        ...base,
        flag: '--compat-text',
        port: ports.text,
        onRefused: refused('seed 000 text'),
        job,
        timeoutMs,
        maxChunk,
        idleMs: limits.idleS * 1000,
        maxBlanks: limits.maxBlanks,
        pool,
        warn,
      });
      open.text = await text.listen();
    }

    if (ports.telemetry !== null) {
      telemetry = new CompatListener({ ...base, flag: '--compat-telemetry', port: ports.telemetry, onRefused: refused('seed 004 telemetry') }, (socket: net.Socket, remote: string) =>
        readLengthPrefixed(socket, {
          maxBytes: MAX_SEED004_BYTES,
          idleMs,
          messageMs: idleMs,
          onMessage(body) {
            let r: ReturnType<typeof parseTemperatureReport>;
            try {
              r = parseTemperatureReport(body);
            } catch (err) {
              tele.bad++;
              warn(`bad telemetry ${remote}`, `ignored a seed 004 temperature report from ${remote}: ${(err as Error).message}`);
              return false;
            }
            const address = r.ip ?? remote;
            if (!tele.nodes.has(address) && !head.node(`legacy:${address}`)) {
              if (tele.nodes.size >= maxLegacyNodes) {
                tele.bad++;
                warn('legacy nodes full', `ignored a seed 004 temperature report from ${remote} for ${address}: ${maxLegacyNodes} legacy tiles exist already`);
                return false;
              }
            }
            tele.nodes.add(address);
            tele.reports++;
            head.legacyReport(address, remote, r.temp);
            return false; // one report per connection, as seed 004's head reads it
          },
          onBad(reason) {
            tele.bad++;
            warn(`bad telemetry ${remote}`, `closed a seed 004 telemetry connection from ${remote}: ${reason}`);
          },
        }),
      );
      open.telemetry = await telemetry.listen();
    }

    if (ports.primes !== null) {
      const s = new PrimeStreamStore(path.join(options.dataDir, 'compat-primes.db'), {
        onError: (err) => head.event('error', 'compat', `could not write the legacy prime stream: ${err.message}`),
        limits: { maxTotal: limits.primesMax, maxPerSource: limits.primesPerSource, maxSources: limits.primesMaxSources },
      });
      store = s;
      const full = (remote: string, why: PrimeRefusal): void => {
        if (why === 'total') {
          prim.refusedTotalCap++;
          warn('primes full', `refused a value of the seed 004 prime stream from ${remote}: ${limits.primesMax} primes are stored (--compat-primes-max)`);
        } else if (why === 'source') {
          prim.refusedSourceCap++;
          warn(`primes full ${remote}`, `refused a value of the seed 004 prime stream from ${remote}: that address has stored ${limits.primesPerSource} primes (--compat-primes-per-source)`);
        } else {
          prim.refusedSources++;
          warn('primes sources', `refused a value of the seed 004 prime stream from ${remote}: ${limits.primesMaxSources} source addresses are known already`);
        }
      };
      primesListener = new CompatListener({ ...base, flag: '--compat-primes', port: ports.primes, onRefused: refused('seed 004 prime stream') }, (socket: net.Socket, remote: string, hold) => {
        let reserved = false;
        readLengthPrefixed(socket, {
          maxBytes: MAX_SEED004_BYTES,
          idleMs,
          messageMs: idleMs,
          hold,
          admit() {
            // a message that waited had its token reserved: its turn has come
            if (reserved) {
              reserved = false;
              return 0;
            }
            const wait = rate.reserve(remote);
            if (wait > 0) {
              reserved = true;
              prim.throttled++;
              warn(`primes rate ${remote}`, `slowing the seed 004 prime stream from ${remote} to ${limits.primesRate} values a second (--compat-primes-rate)`);
            }
            return wait;
          },
          onMessage(body) {
            const why = s.admit(remote);
            if (why !== null) {
              full(remote, why);
              return false; // the value is dropped and the connection closed, as seed 004's head closes it after one
            }
            let n: bigint;
            try {
              n = parsePrimeValue(body);
            } catch (err) {
              s.add(null, remote);
              warn(`bad prime ${remote}`, `ignored a value of the seed 004 prime stream from ${remote}: ${(err as Error).message}`);
              return true;
            }
            if (!isPrime(n)) {
              s.add(null, remote);
              warn(`bad prime ${remote}`, `ignored a value of the seed 004 prime stream from ${remote}: ${n} is not prime`);
              return true;
            }
            s.add(n, remote);
            return true;
          },
          onBad(reason) {
            prim.bad++;
            warn(`bad prime ${remote}`, `closed a seed 004 prime stream connection from ${remote}: ${reason}`);
          },
        });
      });
      open.primes = await primesListener.listen();
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  const shown = [
    open.text !== null ? `seed 000 text on ${options.bind}:${open.text}` : null,
    open.telemetry !== null ? `seed 004 telemetry on ${options.bind}:${open.telemetry}` : null,
    open.primes !== null ? `seed 004 primes on ${options.bind}:${open.primes}` : null,
  ].filter((s): s is string => s !== null);
  if (shown.length > 0) {
    const who = allow.any ? 'from ANY address' : `from ${allow.toString()} only`;
    const hint = allow.loopbackOnly ? ' (only this machine: add --compat-allow 192.168.4.0/22 or --compat-allow lan for the lab)' : '';
    head.event('warn', 'compat', `seed-compat listeners open WITHOUT authentication: ${shown.join(', ')}; accepting connections ${who}${hint}`);
  }

  return {
    ports: open,
    primes: store,
    status(): CompatStatus {
      return {
        bind: options.bind,
        allow: allow.entries,
        limits,
        ports: { ...open },
        text: text ? text.status() : null,
        telemetry: telemetry ? { reports: tele.reports, bad: tele.bad, refusedConnections: telemetry.stats.refused, refusedPerAddress: telemetry.stats.refusedPerAddress, nodes: tele.nodes.size } : null,
        primes: store && primesListener ? { ...store.snapshot(100), ...prim, refusedConnections: primesListener.stats.refused, refusedPerAddress: primesListener.stats.refusedPerAddress } : null,
      };
    },
    close: closeAll,
  };
}
