import { readFileSync, statSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Cluster } from '../trust/index.js';
import { FILES, secureDataDir, writeHeadState } from '../trust/index.js';
import type { Journal } from '../core/index.js';
import { FrameServer } from '../net/index.js';
import { CodeStore } from './code-store.js';
import { Head } from './head.js';
import { HEAD_SETTING_KEYS, headSettings } from './settings.js';
import type { HeadSettingsValues } from './settings.js';
import { describeFdBudget, fdBudget, readFdLimits } from './fd-budget.js';

/**
 * What the root needs to start a head: the cluster, the data dir, and any `bramble head` setting
 * (head/settings.ts; what is left out takes the schema's default).
 */
export interface HeadProcessOptions extends Partial<Omit<HeadSettingsValues, 'httpPort'>> {
  cluster: Cluster;
  dataDir: string;
  /** The HTTP API's port; null: none (`bramble run`). */
  httpPort?: number | null;
  /** false: no worker port at all, workers only in this process (`bramble run`: `head.acceptLocal()`). */
  listen?: boolean;
  logger: Logger;
  version?: string;
  /** The journal (default: SqliteJournal in DATA/bramble.db): the one place a concrete journal is chosen. */
  journal?: Journal;
  /** Adds the dashboard's routes (wired by the CLI, which owns every app's main). */
  extendHttp?: (app: FastifyInstance, head: Head, auth: (req: import('fastify').FastifyRequest) => boolean) => void | Promise<void>;
  /** Write DATA/head.json so the CLI on this machine finds the API. */
  writeState?: boolean;
  /** The journal could not commit: default exits the process with 70 (EX_SOFTWARE) after closing what it can. */
  onFatal?: (err: unknown) => void;
  /** HA (head/ha.ts): checked before every lease hand-out. */
  mayLease?: () => boolean;
  /** HA: the leadership's epoch, told to workers. */
  epoch?: bigint;
}

export interface HeadProcess {
  head: Head;
  http: FastifyInstance | null;
  workerPort: number;
  httpUrl: string | null;
  loginUrl: string | null;
  stop(): Promise<void>;
}

/** Reads the cluster secret file again when it changes (`bramble token rotate` on a running head). */
function secretReader(cluster: Cluster): () => string {
  const file = path.join(cluster.dir, FILES.secret);
  let mtime = -1;
  let secret = cluster.secret;
  return () => {
    try {
      const m = statSync(file).mtimeMs;
      if (m !== mtime) {
        secret = readFileSync(file, 'utf8').trim();
        mtime = m;
      }
    } catch {
      /* keep the last secret */
    }
    return secret;
  };
}

export function advertisedHost(bind: string): string {
  if (bind !== '0.0.0.0' && bind !== '::') return bind.includes(':') ? `[${bind}]` : bind;
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  return '127.0.0.1';
}

/** Exit code of a head whose journal failed (EX_SOFTWARE): the CLI's process ends with it. */
export const FATAL_EXIT_CODE = 70;

/**
 * The composition root of the head: the only place that chooses the journal, builds the ledger's
 * head, the worker port (FrameServer), the HTTP API and the apps' routes, and hands each its ports.
 * `Head` never exits the process: a fatal event comes back here as `onFatal`.
 */
export async function startHeadProcess(o: HeadProcessOptions): Promise<HeadProcess> {
  const given: Partial<HeadSettingsValues> = {};
  for (const k of HEAD_SETTING_KEYS) if (o[k] !== undefined && o[k] !== null) Object.assign(given, { [k]: o[k] });
  const settings = headSettings(given);
  const httpPort = o.httpPort === null ? null : settings.httpPort;
  // the data dir holds the cluster's secrets and every job's results: 0700, its files 0600 (the
  // certificates 0644); what the head creates from here on is born so (issue 17, item 14)
  try {
    process.umask(0o077);
  } catch {
    /* a worker thread (tests) cannot set it: the chmods below and the explicit modes still hold */
  }
  for (const line of secureDataDir(o.dataDir)) o.logger.warn(`data dir: ${line} (only the head's user may read it)`);
  const tls = settings.insecure ? null : { certChainPem: o.cluster.headCertPem, keyPem: o.cluster.headKeyPem };
  // loaded only when no journal is given: `bramble run` passes one and loads no storage backend
  const journal = o.journal ?? new (await import('../storage/index.js')).SqliteJournal(path.join(o.dataDir, 'bramble.db'));
  const onFatal =
    o.onFatal ??
    ((): void => {
      journal.close();
      process.exit(FATAL_EXIT_CODE);
    });
  // every cap below is sized from the descriptor limit, so no flood on one port starves the others
  const budget = fdBudget(readFdLimits(), { maxPending: settings.maxPending, maxPendingPerAddress: settings.maxPendingPerAddress, httpMaxConnections: settings.httpMaxConnections, httpMaxPerAddress: settings.httpMaxPerAddress });
  o.logger.info({ fdBudget: budget }, describeFdBudget(budget));
  // users' code (issue 12): stored task modules are loaded before the ledger folds any of their jobs
  const code = new CodeStore(o.dataDir, o.cluster.codeKeyPem);
  await code.loadModules((hash, err) => o.logger.error({ hash, err: err.message }, 'a stored task module cannot be loaded; its jobs cannot fold'));
  const head = new Head({
    code,
    codeKey: o.cluster.codePublicKey,
    journal,
    leaseKey: o.cluster.leaseKey,
    logger: o.logger,
    settings,
    secret: settings.insecure ? null : secretReader(o.cluster),
    onFatal,
    mayLease: o.mayLease,
    epoch: o.epoch,
    lifeDir: path.join(o.dataDir, 'life'),
    frameBytes: settings.maxFrameBytes,
    diskFree: () => {
      try {
        const st = statfsSync(o.dataDir);
        return st.bavail * st.bsize;
      } catch {
        return null;
      }
    },
    server: o.listen === false ? undefined : (accept) =>
      new FrameServer(
        { host: settings.bind, port: settings.port, tls, maxFrameBytes: settings.maxFrameBytes, authTimeoutMs: settings.authTimeoutMs, maxPending: budget.workers.maxPending, maxPendingPerAddress: budget.workers.maxPendingPerAddress, maxConnections: budget.workers.maxConnections },
        accept,
      ),
  });
  await head.start();
  let http: FastifyInstance | null = null;
  let httpUrl: string | null = null;
  let loginUrl: string | null = null;
  if (httpPort !== null) {
    // fastify is loaded only by a head with an HTTP API (`bramble run` has none)
    const { LoginCodes, startHttpApi } = await import('./http-api.js');
    const loginCodes = new LoginCodes();
    http = await startHttpApi({
      loginCodes,
      head,
      host: settings.bind,
      port: httpPort,
      tls,
      adminToken: o.cluster.adminToken,
      insecure: settings.insecure,
      limits: budget.http,
      extend: o.extendHttp ? (app, auth) => o.extendHttp?.(app, head, auth) : undefined,
      afterSubmit: submitFault(o.logger),
    });
    const addr = http.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : httpPort;
    httpUrl = `${tls ? 'https' : 'http'}://${advertisedHost(settings.bind)}:${port}`;
    loginUrl = `${httpUrl}/login?code=${loginCodes.mint()}`;
    if (o.writeState !== false) {
      const local = `${tls ? 'https' : 'http'}://${settings.bind === '0.0.0.0' || settings.bind === '::' ? '127.0.0.1' : advertisedHost(settings.bind)}:${port}`;
      writeHeadState(o.dataDir, { url: local, advertised: httpUrl, workerPort: head.port, pid: process.pid, insecure: settings.insecure });
    }
  }
  return {
    head,
    http,
    workerPort: head.port,
    httpUrl,
    loginUrl,
    async stop() {
      await http?.close();
      await head.stop();
      journal.close();
    },
  };
}

/**
 * TEST-ONLY fault hook (issue 18): with BRAMBLE_TEST_KILL_AFTER_SUBMIT=1 in its environment the head
 * SIGKILLs itself right after it journaled a new job and before it answers the submit, so a test can
 * show that a client whose answer was lost retries and finds its one job. Never set it otherwise.
 */
function submitFault(logger: HeadProcessOptions['logger']): ((id: string, existing: boolean) => void) | undefined {
  if (process.env['BRAMBLE_TEST_KILL_AFTER_SUBMIT'] !== '1') return undefined;
  logger.warn('BRAMBLE_TEST_KILL_AFTER_SUBMIT=1: this head kills itself after journaling a new job (test-only fault hook)');
  return (id, existing) => {
    if (existing) return;
    logger.warn({ job: id }, 'test fault: SIGKILL after journaling the job, before answering');
    process.kill(process.pid, 'SIGKILL');
  };
}
