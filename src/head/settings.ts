import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
export const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Every setting of `bramble head`, once: type, bounds, default and help. The CLI derives its flags
 * (`leaseMs` -> `--lease-ms`), the `BRAMBLE_*` variables (`BRAMBLE_LEASE_MS`) and the config file
 * keys (`head.leaseMs`) from this shape; the composition root and `Head` read the parsed values.
 * A help text ending in a default is written by `settingHelp`, from the schema's default.
 */
export const HeadSettings = {
  port: port.default(7070).describe('worker port'),
  httpPort: port.default(7080).describe('HTTP API and dashboard port'),
  bind: z.string().min(1).default('0.0.0.0').describe('address to listen on'),
  logLevel: LogLevel.default('info').describe('fatal, error, warn, info, debug, trace, silent'),
  insecure: z.boolean().default(false).describe('PLAINTEXT worker port and HTTP, no authentication of workers'),
  leaseMs: z.number().int().min(50).max(3_600_000).default(30_000).describe('lease time without heartbeat'),
  maxFrameBytes: z.number().int().min(1024).max(1 << 30).default(16 * 1024 * 1024).describe('largest frame accepted'),
  authTimeoutMs: z.number().int().min(100).max(120_000).default(5000).describe('time to finish TLS and authentication'),
  // unset: sized from the descriptor limit (head/fd-budget.ts)
  maxPending: z.number().int().min(1).max(100_000).optional().describe('connections waiting for authentication at once (default: a quarter of the descriptor budget, at most 256)'),
  maxPendingPerAddress: z.number().int().min(1).max(100_000).optional().describe('connections waiting for authentication from one address (default 32)'),
  httpMaxConnections: z.number().int().min(1).max(100_000).optional().describe('HTTPS connections at once (default: a quarter of the descriptor budget, at most 256)'),
  httpMaxPerAddress: z.number().int().min(1).max(100_000).optional().describe('HTTPS connections from one address (default 32)'),
  staleMs: z.number().int().min(100).default(15_000).describe('no report for this long: node stale'),
  lostMs: z.number().int().min(100).default(60_000).describe('no report for this long: node lost'),
  telemetryMs: z.number().int().min(50).default(5000).describe('how often workers report'),
  hotTemp: z.number().min(0).max(150).default(80).describe('a node this hot (celsius), or throttled, gets at most --hot-slots chunks'),
  hotSlots: z.number().int().min(0).max(1024).default(1).describe('chunks at once for a hot or throttled node'),
  // high availability (issue 15, docs/ha.md): set etcd and this head is one of several candidates
  etcd: z.array(z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'must be etcd client URLs like http://pi1:2379')).min(1).optional().describe('etcd client URLs, comma-separated: run as one of several head candidates (docs/ha.md)'),
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash or underscore').optional().describe('this head candidate\'s name (default: hostname)'),
  etcdPrefix: z.string().regex(/^[A-Za-z0-9._/-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash, slash or underscore').default('bramble/').describe('key prefix of this cluster in etcd'),
  haLeaseTtl: z.number().int().min(2).max(300).default(6).describe('seconds: etcd lease of a head candidate; a crashed leader is replaced after about this long'),
  haRenewMs: z.number().int().min(500).max(299_000).default(4000).describe('a leader that could not renew for this long stops handing out leases (must be under --ha-lease-ttl)'),
  etcdQuotaBytes: z.number().int().min(1 << 20).max(64 * 2 ** 30).default(2 * 2 ** 30).describe("etcd's --quota-backend-bytes: a job whose result rows cannot fit is refused at submit"),
  haRetryMs: z.number().int().min(100).max(60_000).default(1000).describe('how often candidates renew, campaign and look for the leader'),
};

export type HeadSettingsValues = z.infer<z.ZodObject<typeof HeadSettings>>;

/** The settings with every default filled in (`overrides` are checked by the same schema). */
export function headSettings(overrides: Partial<HeadSettingsValues> = {}): HeadSettingsValues {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return z.object(HeadSettings).strict().parse(defined);
}

/** The default of one setting, for help texts. */
export function settingDefault(shape: z.ZodRawShape, key: string): unknown {
  const s = shape[key] as z.ZodType | undefined;
  if (!s) return undefined;
  const r = s.safeParse(undefined);
  return r.success ? r.data : undefined;
}
