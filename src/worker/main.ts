import os from 'node:os';
import type { Logger } from 'pino';
import type { LinkEnd } from '../net/index.js';
import { WorkerAgent } from './agent.js';
import type { Worker } from 'node:worker_threads';
import type { SlotPool } from './slot-pool.js';

export interface WorkerProcessOptions {
  host: string;
  port: number;
  /** Every head candidate (HA); default just host:port. */
  heads?: { host: string; port: number }[];
  caHash: string | null;
  secret: string | null;
  slots?: number;
  name?: string;
  instance?: number;
  prefetch?: number;
  logger: Logger;
  version?: string;
  /** Stable node id (kept in the data dir by the CLI). */
  node?: string;
  /** Users' code (issue 12): task modules with allowCode, commands with allowExec; off by default. */
  allowCode?: boolean;
  allowExec?: boolean;
  codeDir?: string;
  codeCpuSeconds?: number;
  codeMemoryMb?: number;
  /** The head in this process (`bramble run`): its in-process link instead of a TLS connection. */
  connect?: () => Promise<LinkEnd>;
  /** Slot threads already started. */
  pool?: SlotPool;
  /** Life part threads already started (`bramble run life`). */
  lifeThreads?: Worker[];
}

/** Composition root of a worker: the agent, its slots, and a clean drain on SIGTERM/SIGINT. */
export function startWorkerProcess(o: WorkerProcessOptions): WorkerAgent {
  const instance = o.instance ?? 0;
  const agent = new WorkerAgent({
    host: o.host,
    port: o.port,
    heads: o.heads,
    caHash: o.caHash,
    secret: o.secret,
    slots: o.slots ?? os.availableParallelism(),
    name: o.name ?? (instance > 0 ? `${os.hostname()}-${instance}` : os.hostname()),
    instance,
    prefetch: o.prefetch,
    logger: o.logger,
    version: o.version,
    node: o.node,
    allowCode: o.allowCode,
    allowExec: o.allowExec,
    codeDir: o.codeDir,
    codeCpuSeconds: o.codeCpuSeconds,
    codeMemoryMb: o.codeMemoryMb,
    connect: o.connect,
    pool: o.pool,
    lifeThreads: o.lifeThreads,
  });
  agent.start();
  return agent;
}
