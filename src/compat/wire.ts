import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { z as Z } from 'zod';
import type { CompatHost } from '../ports/index.js';
import { AllowList, DEFAULT_ALLOW } from './allow-list.js';
import { compatLimits, startCompat } from './compat.js';
import type { Compat } from './compat.js';
import { compatRoutes } from './routes.js';
import { zod } from '../core/index.js';

const z = zod();

const port = z.number().int().min(0).max(65535);

/**
 * The compat settings of `bramble head`, in the shape `resolveConfig` takes (flag, BRAMBLE_COMPAT_*
 * environment variable, or the `head` section of config.json): spread into HeadConfig.
 */
export const CompatConfig = {
  compatText: port.optional(),
  compatTelemetry: port.optional(),
  compatPrimes: port.optional(),
  compatBind: z.string().min(1).optional(),
  compatAllow: z.array(z.string().min(1)).min(1).optional(),
  compatJob: z.string().min(1).optional(),
  compatTimeoutMs: z.number().int().min(1000).max(86_400_000).default(600_000),
  compatMaxChunk: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(10_000_000),
  // issue 17, items 19 and 20 (docs/security.md)
  // unset: 1024, or an eighth of the descriptor limit when that is less (compatMaxConnectionsDefault)
  compatMaxConnections: z.number().int().min(1).max(100_000).optional(),
  compatIdleS: z.number().int().min(1).max(86_400).default(300),
  compatCheckThreads: z.number().int().min(1).max(64).default(1),
  compatCheckMs: z.number().int().min(100).max(3_600_000).default(20_000),
  compatPrimesMax: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(10_000_000),
  compatPrimesPerSource: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(1_000_000),
  compatPrimesRate: z.number().int().min(1).max(1_000_000).default(5000),
};

export type CompatConfigValues = Z.infer<Z.ZodObject<typeof CompatConfig>>;

/**
 * The default cap on connections per compat listener: 1024, or an eighth of the process's soft
 * descriptor limit when that is less (128 under Debian's default 1,024), so that the three listeners
 * together cannot take the descriptors the head's own ports are budgeted (head/fd-budget.ts).
 */
export function compatMaxConnectionsDefault(proc = '/proc/self'): number {
  let soft = 1024;
  try {
    const line = readFileSync(`${proc}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line ? /^Max open files\s+(\S+)/.exec(line) : null;
    if (m?.[1]) soft = m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    /* not Linux: assume Debian's default */
  }
  return Math.max(16, Math.min(1024, Math.floor(soft / 8)));
}

/** Adds the compat flags to `bramble head`. */
export function addCompatFlags(cmd: Command): Command {
  return cmd
    .option('--compat-text <port>', 'seed 000 text protocol (JobID:Start:End) for Python clients; off by default')
    .option('--compat-telemetry <port>', 'seed 004 temperature reports (their port: 5050); off by default')
    .option('--compat-primes <port>', 'seed 004 prime stream (their port: 4040); off by default')
    .option('--compat-bind <addr>', 'address of the compat listeners (default: --bind)')
    .option('--compat-allow <cidrs>', `networks allowed to use them, e.g. 192.168.4.0/22,10.0.0.7 or lan (default: ${DEFAULT_ALLOW.join(',')})`)
    .option('--compat-job <id>', 'seed 000 clients take chunks of this job only (default: the first primes --list job in line)')
    .option('--compat-timeout-ms <ms>', 'seed 000: time a client has to answer one chunk (default 600000)')
    .option('--compat-max-chunk <n>', 'seed 000: jobs with wider chunks are left to native workers (default 1e7)')
    .option('--compat-max-connections <n>', 'connections at once per compat listener; seed 000 evicts a waiting client of the fullest address for a new one (default 1024, or an eighth of the descriptor limit when less)')
    .option('--compat-idle-s <s>', 'seed 000: a client with no chunk, or whose answer stops, is closed after this many seconds (default 300)')
    .option('--compat-check-threads <n>', 'seed 000: threads that check answers off the event loop (default 1)')
    .option('--compat-check-ms <ms>', 'seed 000: check time one source address may use per minute; over it its answers wait (default 20000)')
    .option('--compat-primes-max <n>', 'seed 004: unique primes stored in all (default 10000000, about 150 MB on disk)')
    .option('--compat-primes-per-source <n>', 'seed 004: unique primes one source address may store (default 1000000)')
    .option('--compat-primes-rate <n>', 'seed 004: values a second from one source address, a burst of 10 s of it; faster senders are slowed (default 5000)');
}

/** What `bramble head` needs to run the compat listeners next to the head. */
export interface CompatWiring {
  /** True when at least one compat port was given. */
  readonly enabled: boolean;
  /** Adds the /api/compat routes (call it from startHeadProcess's extendHttp). */
  extendHttp(app: FastifyInstance, head: CompatHost, auth: (req: FastifyRequest) => boolean): void;
  /** Opens the listeners (after startHeadProcess) and warns which are open. */
  start(head: CompatHost): Promise<Compat | null>;
  close(): Promise<void>;
}

/** Validates the compat settings at once (before the head starts) and returns the wiring. */
export function compatWiring(cfg: CompatConfigValues & { bind: string }, ctx: { dataDir: string; logger: Logger }): CompatWiring {
  const bind = cfg.compatBind ?? cfg.bind;
  const allow = cfg.compatAllow ?? [...DEFAULT_ALLOW];
  new AllowList(allow); // a wrong --compat-allow fails before anything listens
  const limitOptions = {
    maxConnections: cfg.compatMaxConnections ?? compatMaxConnectionsDefault(),
    textIdleMs: cfg.compatIdleS * 1000,
    checkThreads: cfg.compatCheckThreads,
    checkBudgetMs: cfg.compatCheckMs,
    primesMax: cfg.compatPrimesMax,
    primesPerSource: cfg.compatPrimesPerSource,
    primesRate: cfg.compatPrimesRate,
  };
  const limits = compatLimits(limitOptions);
  const enabled = cfg.compatText !== undefined || cfg.compatTelemetry !== undefined || cfg.compatPrimes !== undefined;
  let compat: Compat | null = null;
  const off: Compat = {
    ports: { text: null, telemetry: null, primes: null },
    primes: null,
    status: () => ({ bind, allow: new AllowList(allow).entries, limits, ports: { text: null, telemetry: null, primes: null }, text: null, telemetry: null, primes: null }),
    close: async () => {},
  };
  return {
    enabled,
    extendHttp(app) {
      compatRoutes(app, () => (enabled ? compat : off));
    },
    async start(head) {
      if (!enabled) return null;
      compat = await startCompat(
        head,
        {
          text: cfg.compatText ?? null,
          telemetry: cfg.compatTelemetry ?? null,
          primes: cfg.compatPrimes ?? null,
          bind,
          allow,
          dataDir: ctx.dataDir,
          job: cfg.compatJob ?? null,
          textTimeoutMs: cfg.compatTimeoutMs,
          textMaxChunk: BigInt(cfg.compatMaxChunk),
          ...limitOptions,
        },
        ctx.logger,
      );
      return compat;
    },
    async close() {
      const c = compat;
      compat = null;
      await c?.close();
    },
  };
}
