import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Cluster } from '../trust/index.js';
import { FILES, writeHeadState } from '../trust/index.js';
import { Head } from './head.js';
import { LoginCodes, startHttpApi } from './http-api.js';
import { describeFdBudget, fdBudget, readFdLimits } from './fd-budget.js';

export interface HeadProcessOptions {
  cluster: Cluster;
  dataDir: string;
  bind: string;
  port: number;
  httpPort: number | null;
  insecure: boolean;
  logger: Logger;
  leaseMs?: number;
  maxFrameBytes?: number;
  authTimeoutMs?: number;
  maxPending?: number;
  maxPendingPerAddress?: number;
  httpMaxConnections?: number;
  httpMaxPerAddress?: number;
  staleMs?: number;
  lostMs?: number;
  telemetryMs?: number;
  hotTemp?: number;
  hotSlots?: number;
  version?: string;
  /** Adds the dashboard's routes (wired by the CLI, which owns every app's main). */
  extendHttp?: (app: FastifyInstance, head: Head, auth: (req: import('fastify').FastifyRequest) => boolean) => void | Promise<void>;
  /** Write DATA/head.json so the CLI on this machine finds the API. */
  writeState?: boolean;
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

function advertisedHost(bind: string): string {
  if (bind !== '0.0.0.0' && bind !== '::') return bind.includes(':') ? `[${bind}]` : bind;
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  return '127.0.0.1';
}

/** Composition root of the head: journal + ledger + worker port + HTTP API. */
export async function startHeadProcess(o: HeadProcessOptions): Promise<HeadProcess> {
  const tls = o.insecure ? null : { certChainPem: o.cluster.headCertPem, keyPem: o.cluster.headKeyPem };
  // every cap below is sized from the descriptor limit, so no flood on one port starves the others
  const budget = fdBudget(readFdLimits(), { maxPending: o.maxPending, maxPendingPerAddress: o.maxPendingPerAddress, httpMaxConnections: o.httpMaxConnections, httpMaxPerAddress: o.httpMaxPerAddress });
  o.logger.info({ fdBudget: budget }, describeFdBudget(budget));
  const head = new Head({
    dataDir: o.dataDir,
    bind: o.bind,
    port: o.port,
    tls,
    secret: o.insecure ? null : secretReader(o.cluster),
    leaseKey: o.cluster.leaseKey,
    logger: o.logger,
    leaseMs: o.leaseMs,
    maxFrameBytes: o.maxFrameBytes,
    authTimeoutMs: o.authTimeoutMs,
    maxPending: budget.workers.maxPending,
    maxPendingPerAddress: budget.workers.maxPendingPerAddress,
    maxConnections: budget.workers.maxConnections,
    staleMs: o.staleMs,
    lostMs: o.lostMs,
    telemetryMs: o.telemetryMs,
    hotTemp: o.hotTemp,
    hotSlots: o.hotSlots,
  });
  await head.start();
  let http: FastifyInstance | null = null;
  let httpUrl: string | null = null;
  let loginUrl: string | null = null;
  if (o.httpPort !== null) {
    const loginCodes = new LoginCodes();
    http = await startHttpApi({
      loginCodes,
      head,
      host: o.bind,
      port: o.httpPort,
      tls,
      adminToken: o.cluster.adminToken,
      insecure: o.insecure,
      limits: budget.http,
      extend: o.extendHttp ? (app, auth) => o.extendHttp?.(app, head, auth) : undefined,
    });
    const addr = http.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : o.httpPort;
    httpUrl = `${tls ? 'https' : 'http'}://${advertisedHost(o.bind)}:${port}`;
    loginUrl = `${httpUrl}/login?code=${loginCodes.mint()}`;
    if (o.writeState !== false) {
      const local = `${tls ? 'https' : 'http'}://${o.bind === '0.0.0.0' || o.bind === '::' ? '127.0.0.1' : advertisedHost(o.bind)}:${port}`;
      writeHeadState(o.dataDir, { url: local, advertised: httpUrl, workerPort: head.port, pid: process.pid, insecure: o.insecure });
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
    },
  };
}
