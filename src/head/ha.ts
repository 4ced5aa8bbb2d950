import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import os from 'node:os';
import type { ChunkFailureRecord, ChunkResultRecord, JobRecord, JobState, Journal, QuarantineRecord, WorkerStandingRecord } from '../core/index.js';
import { InputError } from '../core/index.js';
import { EtcdElection, EtcdError, EtcdJournal, FencedError, prefixEnd } from '../storage/index.js';
import type { JobInput } from '../tasks/index.js';
import { planJob } from '../tasks/index.js';
import type { LeaderInfo } from '../storage/index.js';
import { writeHeadState } from '../trust/index.js';
import { isAdmin } from './http-api.js';
import type { HeadProcess, HeadProcessOptions } from './main.js';
import { advertisedHost, startHeadProcess } from './main.js';
import { HEAD_SETTING_KEYS, headSettings } from './settings.js';
import type { HeadSettingsValues } from './settings.js';

/**
 * A head candidate (issue 15, docs/ha.md): one of several `bramble head --etcd ...` processes, of which
 * the one elected through etcd serves workers and the API and the others stand by.
 *
 * - **Leader**: a whole head (startHeadProcess) on the configured ports, its journal an EtcdJournal
 *   fenced by this leadership's epoch; every lease hand-out first asks `election.isLeader()`, which is
 *   false as soon as the leader's own monotonic clock says its etcd lease may have lapsed.
 * - **Standby**: no worker port (a worker's connection is refused and it tries the next candidate);
 *   on the HTTP port a small server that answers `GET /api/ha` itself and forwards everything else
 *   (submit, status, result, cancel, the dashboard and its event stream) to the leader's URL.
 * - **Stepping down** (demoted by the clock, the leader key lost, or any journal write failing, a
 *   FencedError above all): dispatch stops at once, the head is stopped and its ledger dropped, the
 *   leader key is deleted if still ours, and the process stands by again. It may be elected again
 *   later, as a new leadership with a new epoch that rebuilds its ledger from etcd.
 */
export interface HaHeadOptions extends HeadProcessOptions {
  etcd: string[];
}

export type CandidateState = 'leader' | 'standby' | 'down';

export interface HaStatus {
  leader: string | null;
  epoch: string | null;
  candidates: { name: string; url: string; workerAddress: string; state: CandidateState }[];
  /** This candidate's own view: its state, what its fencing refused, when its leadership's first lease went out. */
  self: { name: string; state: 'leader' | 'standby'; epoch: string | null; refusedWrites: number; refusedLeases: number; firstLeaseAt: number | null; etcdNoSpace: boolean };
  /** Leaderships, newest last, as each new leader recorded it in etcd. */
  history: { name: string; epoch: string; at: number }[];
}

export interface HaHead {
  readonly name: string;
  readonly election: EtcdElection;
  /** The head while this candidate leads, else null. */
  current(): HeadProcess | null;
  status(): Promise<HaStatus>;
  stop(): Promise<void>;
}

/** A journal error raised under this guard: already turned into a step-down. */
const handled = new WeakSet<object>();

/** Journal writes that fail make the head step down (a FencedError above all); reads pass through. */
class SteppingDownJournal implements Journal {
  constructor(
    readonly inner: EtcdJournal,
    private readonly failed: (err: unknown) => void,
    /** etcd said NOSPACE: true to hold the commit and retry (still the leader). */
    private readonly noSpace: () => boolean,
  ) {}
  private guard<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }
  private fail(err: unknown): void {
    if (typeof err === 'object' && err !== null) handled.add(err);
    this.failed(err);
  }
  /** The job already under this id, if any (idempotent submit): passed through, never dropped. */
  createJob(job: JobRecord): JobRecord | undefined {
    return this.guard(() => this.inner.createJob(job));
  }
  setJobState(id: string, state: JobState, at: number, error?: string | null): void {
    this.guard(() => this.inner.setJobState(id, state, at, error));
  }
  setJobSummary(id: string, summary: unknown): void {
    this.guard(() => this.inner.setJobSummary(id, summary));
  }
  getJobSummary(id: string): unknown {
    return this.inner.getJobSummary(id);
  }
  getJob(id: string): JobRecord | undefined {
    return this.inner.getJob(id);
  }
  listJobs(): JobRecord[] {
    return this.inner.listJobs();
  }
  commitChunks(rows: ChunkResultRecord[]): boolean[] {
    return this.guard(() => this.inner.commitChunks(rows));
  }
  async commitChunksAsync(rows: ChunkResultRecord[]): Promise<boolean[]> {
    for (;;) {
      try {
        return await this.inner.commitChunksAsync(rows);
      } catch (err) {
        // etcd is full: hold this commit (nothing is acknowledged, no lease goes out meanwhile) and try
        // again until space is freed; rows of it already written come back as duplicates, durable
        if (err instanceof EtcdError && err.noSpace && this.noSpace()) {
          await new Promise((r) => setTimeout(r, NOSPACE_RETRY_MS));
          continue;
        }
        this.fail(err);
        throw err;
      }
    }
  }
  doneSpans(jobId: string): Iterable<[number, number]> {
    return this.inner.doneSpans(jobId);
  }
  recordFailure(failure: ChunkFailureRecord): void {
    this.guard(() => this.inner.recordFailure(failure));
  }
  failures(jobId: string): ChunkFailureRecord[] {
    return this.inner.failures(jobId);
  }
  quarantine(record: QuarantineRecord): void {
    this.guard(() => this.inner.quarantine(record));
  }
  uncommitChunks(jobId: string, indices: readonly number[]): void {
    this.guard(() => this.inner.uncommitChunks(jobId, indices));
  }
  setWorkerStanding(record: WorkerStandingRecord): void {
    this.guard(() => this.inner.setWorkerStanding(record));
  }
  workerStandings(): WorkerStandingRecord[] {
    return this.inner.workerStandings();
  }
  quarantined(jobId: string): QuarantineRecord[] {
    return this.inner.quarantined(jobId);
  }
  results(jobId: string, options?: { withOutput?: boolean; from?: number }): IterableIterator<ChunkResultRecord> {
    return this.inner.results(jobId, options);
  }
  close(): void {
    this.inner.close();
  }
}

const COMPACT_EVERY_MS = 5 * 60_000;
const NOSPACE_RETRY_MS = 2000;
/**
 * etcd space per result row, for the estimate at submit: key (~40 B) and MessagePack row (~60-100 B),
 * twice over for bbolt's revision key, page slack and the history kept until compaction.
 */
const ROW_BYTES = 256;
const MiB = (n: number): string => (n / 2 ** 20).toFixed(0);
const NOSPACE_MESSAGE = 'etcd is out of space (alarm NOSPACE): results wait uncommitted and unacknowledged, no lease is handed out, nothing committed is lost. Free space (etcdctl compact and defrag, or a larger --quota-backend-bytes), then etcdctl alarm disarm: the jobs resume';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': b.length, ...(status === 503 ? { 'retry-after': '1' } : {}) });
  res.end(b);
}

/** Starts a head candidate: campaigns at once, stands by until elected. */
export async function startHaHead(o: HaHeadOptions): Promise<HaHead> {
  const given: Partial<HeadSettingsValues> = {};
  for (const k of HEAD_SETTING_KEYS) if (o[k] !== undefined && o[k] !== null) Object.assign(given, { [k]: o[k] });
  const settings = headSettings(given);
  if (settings.port === 0) throw new InputError('--port', 'a head candidate needs a fixed --port (workers know every candidate by it)');
  if (settings.httpPort === 0) throw new InputError('--http-port', 'a head candidate needs a fixed --http-port');
  if (settings.haRenewMs >= settings.haLeaseTtl * 1000) throw new InputError('--ha-renew-ms', `--ha-renew-ms must be under --ha-lease-ttl (${settings.haLeaseTtl} s = ${settings.haLeaseTtl * 1000} ms; got ${settings.haRenewMs})`);
  if (settings.haRetryMs >= settings.haRenewMs) throw new InputError('--ha-retry-ms', `--ha-retry-ms must be under --ha-renew-ms (${settings.haRenewMs}; got ${settings.haRetryMs})`);
  const name = settings.name ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  const tls = !settings.insecure;
  const host = advertisedHost(settings.bind);
  const apiUrl = `${tls ? 'https' : 'http'}://${host}:${settings.httpPort}`;
  const workerAddress = `${host}:${settings.port}`;
  const log = o.logger.child({ candidate: name });
  const prefix = settings.etcdPrefix.endsWith('/') ? settings.etcdPrefix : `${settings.etcdPrefix}/`;
  const election = new EtcdElection({
    endpoints: o.etcd,
    prefix,
    name,
    urls: [apiUrl, workerAddress],
    leaseTtlS: settings.haLeaseTtl,
    renewDeadlineMs: settings.haRenewMs,
    retryMs: settings.haRetryMs,
  });

  let hp: HeadProcess | null = null;
  let journal: EtcdJournal | null = null;
  let standby: http.Server | null = null;
  const standbySockets = new Set<Socket>();
  let compactTimer: NodeJS.Timeout | null = null;
  let stopped = false;
  let refusedWrites = 0;
  let refusedLeases = 0;
  let noSpace = false;
  let alarmTimer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();
  const setNoSpace = (v: boolean): void => {
    if (v === noSpace) return;
    noSpace = v;
    if (v) log.error(NOSPACE_MESSAGE);
    hp?.head.event(v ? 'error' : 'info', 'ha', v ? NOSPACE_MESSAGE : 'etcd has space again: leases resume');
    if (!v) hp?.head.scheduleDispatch();
  };
  const checkAlarms = async (): Promise<void> => {
    try {
      setNoSpace((await election.client.alarms()).includes('NOSPACE'));
    } catch {
      /* etcd unreachable: the election deals with it */
    }
  };
  const enqueue = (step: () => Promise<void>): void => {
    chain = chain.then(step).catch((err: unknown) => log.error({ err }, 'HA transition failed'));
  };

  // ---- standby: answer /api/ha, forward the rest to the leader ----
  const forward = (req: IncomingMessage, res: ServerResponse, leader: LeaderInfo): void => {
    const base = leader.urls[0];
    if (!base) return sendJson(res, 503, { error: { code: 'NO_LEADER', message: 'the leader advertised no API URL' } });
    const target = new URL(req.url ?? '/', base);
    const isHttps = target.protocol === 'https:';
    const up = (isHttps ? https : http).request(
      target,
      {
        method: req.method,
        headers: { ...req.headers, host: target.host, 'x-bramble-forwarded-by': name },
        // the leader's certificate must chain to this cluster's CA (the name in it may be another host's:
        // every candidate carries the certificate made by `bramble init`)
        ...(isHttps ? { ca: o.cluster.caCertPem, checkServerIdentity: () => undefined } : {}),
      },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, { ...ur.headers, 'x-bramble-forwarded-by': name });
        ur.pipe(res);
      },
    );
    up.on('error', (err) => {
      if (!res.headersSent) sendJson(res, 502, { error: { code: 'LEADER_UNREACHABLE', message: `leader ${leader.name} at ${base} unreachable: ${err.message}` } });
      else res.destroy();
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  };

  const onStandbyRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api/ha' && req.method === 'GET') {
      if (!isAdmin(req, o.cluster.adminToken)) return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or wrong admin token' } });
      void status().then(
        (s) => sendJson(res, 200, s),
        (err: unknown) => sendJson(res, 503, { error: { code: 'ETCD_UNREACHABLE', message: (err as Error).message } }),
      );
      return;
    }
    const leader = election.leader();
    // never forward twice: a forwarded request that reaches a standby means the leader moved meanwhile
    if (!leader || leader.name === name || req.headers['x-bramble-forwarded-by'] !== undefined) {
      return sendJson(res, 503, { error: { code: 'NO_LEADER', message: leader ? 'the leader is changing; try again' : 'no head leads yet (election in progress); try again' } });
    }
    forward(req, res, leader);
  };

  const openStandby = async (): Promise<void> => {
    if (standby || stopped) return;
    const server = tls ? https.createServer({ cert: o.cluster.headCertPem, key: o.cluster.headKeyPem, minVersion: 'TLSv1.3' }, onStandbyRequest) : http.createServer(onStandbyRequest);
    server.headersTimeout = 10_000;
    server.requestTimeout = 0; // forwarded event streams last
    server.on('connection', (sock: Socket) => {
      standbySockets.add(sock);
      sock.once('close', () => standbySockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.httpPort, settings.bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
    standby = server;
    if (o.writeState !== false) writeHeadState(o.dataDir, { url: `${tls ? 'https' : 'http'}://${settings.bind === '0.0.0.0' || settings.bind === '::' ? '127.0.0.1' : host}:${settings.httpPort}`, advertised: apiUrl, workerPort: settings.port, pid: process.pid, insecure: settings.insecure });
    log.info({ http: apiUrl, leader: election.leader()?.name ?? null }, 'standing by');
  };

  const closeStandby = async (): Promise<void> => {
    const s = standby;
    standby = null;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    // every socket, those still in their TLS handshake too: the HTTP server tracks a connection only once
    // it is secured, so one that finished its handshake after close() kept the server (and this head's
    // step to leader) waiting for as long as the client kept it alive
    for (const sock of standbySockets) sock.destroy();
    standbySockets.clear();
    s.closeAllConnections();
    await closed;
  };

  // ---- leader ----
  const lead = async (info: LeaderInfo): Promise<void> => {
    if (stopped || hp || !election.isLeader() || election.currentEpoch !== info.epoch) return;
    log.info({ epoch: info.epoch.toString() }, 'elected leader: rebuilding the ledger from etcd');
    await closeStandby();
    await checkAlarms();
    const j = new EtcdJournal({ endpoints: o.etcd, prefix, fence: () => election.fence() });
    journal = j;
    const guarded = new SteppingDownJournal(
      j,
      (err) => {
        if (err instanceof EtcdError && err.noSpace) setNoSpace(true);
        log.warn({ err: (err as Error).message, fenced: err instanceof FencedError }, 'journal write failed: stepping down');
        enqueue(() => standBy(err instanceof FencedError ? 'fenced' : 'journal write failed'));
      },
      () => {
        setNoSpace(true);
        return election.isLeader() && journal === j;
      },
    );
    try {
      hp = await startHeadProcess({
        ...o,
        journal: guarded,
        // no lease while etcd cannot take its result (the next leader checks the alarm too)
        mayLease: () => election.isLeader() && !noSpace,
        epoch: info.epoch,
        onFatal: (err) => {
          log.warn({ err: (err as Error).message }, 'head failed: stepping down');
          enqueue(() => standBy('head failed'));
        },
        extendHttp: async (app, head, auth) => {
          app.get('/api/ha', async (req, reply) => {
            if (!auth(req)) return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong admin token' } });
            return status();
          });
          // a job whose result rows cannot fit etcd's quota is refused here, with the estimate
          app.addHook('preHandler', async (req, reply) => {
            if (req.method !== 'POST' || req.routeOptions.url !== '/api/jobs') return;
            if (noSpace) return reply.code(507).send({ error: { code: 'ETCD_NOSPACE', message: NOSPACE_MESSAGE } });
            let chunks: number;
            try {
              chunks = planJob(req.body as JobInput, head.sessions.slotCount() || 4).chunks;
            } catch {
              return; // the route itself names what is wrong
            }
            const need = chunks * ROW_BYTES;
            const used = await election.client.dbSize().catch(() => 0);
            if (used + need > settings.etcdQuotaBytes)
              return reply.code(507).send({
                error: {
                  code: 'ETCD_QUOTA',
                  message: `job refused: its ${chunks} result rows need about ${MiB(need)} MiB in etcd, which holds ${MiB(used)} MiB of its ${MiB(settings.etcdQuotaBytes)} MiB quota (--etcd-quota-bytes); use a larger --chunk, or raise etcd's --quota-backend-bytes and --etcd-quota-bytes`,
                },
              });
          });
          await o.extendHttp?.(app, head, auth);
        },
      });
    } catch (err) {
      log.error({ err }, 'could not start as leader: stepping down');
      j.close();
      journal = null;
      await election.stepDown('could not start');
      await openStandby();
      return;
    }
    if (!election.isLeader()) return standBy('lost leadership while starting');
    hp.head.event('info', 'ha', `${name} leads (epoch ${info.epoch})`);
    log.info({ epoch: info.epoch.toString(), workers: workerAddress, dashboard: hp.loginUrl }, 'leading: serving workers and the API');
    // the election history, written under this leadership's fence
    const histKey = `${prefix}history/${info.epoch.toString().padStart(20, '0')}`;
    await election.client
      .txn([{ key: election.leaderKey, target: 'CREATE', value: info.epoch }], [{ put: { key: histKey, value: JSON.stringify({ name, epoch: info.epoch.toString(), at: Date.now() }) } }])
      .catch(() => undefined);
    alarmTimer = setInterval(() => void checkAlarms(), Math.max(2000, settings.haRetryMs * 2));
    alarmTimer.unref();
    compactTimer = setInterval(() => {
      void j.compact().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'etcd compaction failed'));
    }, COMPACT_EVERY_MS);
    compactTimer.unref();
  };

  const standBy = async (reason: string): Promise<void> => {
    if (compactTimer) clearInterval(compactTimer);
    if (alarmTimer) clearInterval(alarmTimer);
    compactTimer = alarmTimer = null;
    const h = hp;
    hp = null;
    if (h) {
      log.warn({ reason }, 'stepping down: dispatch stopped, ledger dropped');
      refusedLeases += h.head.sessions.leasesRefused;
      h.http?.server.closeAllConnections();
      await h.stop().catch((err: unknown) => log.warn({ err }, 'stopping the head'));
    }
    if (journal) refusedWrites += journal.refused;
    journal = null;
    if (election.isLeader()) await election.stepDown(reason);
    await openStandby();
  };

  // ---- status ----
  const status = async (): Promise<HaStatus> => {
    const leader = await election.readLeader();
    const alive = await election.candidates();
    const members = await election.client.range(`${prefix}members/`, { rangeEnd: prefixEnd(`${prefix}members/`) });
    const known = new Map<string, { name: string; urls: string[] }>();
    for (const kv of members.kvs) {
      const m = JSON.parse(kv.value.toString('utf8')) as { name: string; urls: string[] };
      known.set(m.name, m);
    }
    for (const c of alive) known.set(c.name, c);
    const aliveNames = new Set(alive.map((c) => c.name));
    const hist = await election.client.range(`${prefix}history/`, { rangeEnd: prefixEnd(`${prefix}history/`) });
    const history = hist.kvs.map((kv) => JSON.parse(kv.value.toString('utf8')) as { name: string; epoch: string; at: number }).slice(-50);
    const live = journal?.refused ?? 0;
    return {
      leader: leader?.name ?? null,
      epoch: leader ? leader.epoch.toString() : null,
      candidates: [...known.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((c) => ({ name: c.name, url: c.urls[0] ?? '', workerAddress: c.urls[1] ?? '', state: leader?.name === c.name ? 'leader' : aliveNames.has(c.name) ? 'standby' : 'down' })),
      self: { name, state: hp && election.isLeader() ? 'leader' : 'standby', epoch: election.currentEpoch?.toString() ?? null, refusedWrites: refusedWrites + live, refusedLeases: refusedLeases + (hp?.head.sessions.leasesRefused ?? 0), firstLeaseAt: hp?.head.sessions.firstLeaseAt ?? null, etcdNoSpace: noSpace },
      history,
    };
  };

  // a journal error raised in an event handler (a worker's connection closing writes a failure) has
  // already made this head step down: it must not also end the process
  const onUncaught = (err: unknown): void => {
    if (typeof err === 'object' && err !== null && handled.has(err)) {
      log.warn({ err: (err as Error).message }, 'journal write refused outside a request (stepping down)');
      return;
    }
    log.fatal({ err }, 'uncaught exception');
    process.exit(1);
  };
  process.on('uncaughtException', onUncaught);

  election.on('elected', (info: LeaderInfo) => enqueue(() => lead(info)));
  election.on('demoted', (reason: string) => {
    log.warn({ reason }, 'demoted');
    enqueue(() => standBy(reason));
  });
  election.on('leader', (info: LeaderInfo | null) => log.info({ leader: info?.name ?? null, epoch: info?.epoch.toString() ?? null }, 'leader observed'));

  await openStandby();
  // the candidate list: a member key outlives the candidate's lease, so a stopped one shows as down
  await election.client.put(`${prefix}members/${name}`, JSON.stringify({ name, urls: [apiUrl, workerAddress] })).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'etcd unreachable at start; campaigning anyway'));
  election.start();
  log.info({ etcd: o.etcd, name, http: apiUrl, workers: workerAddress }, 'head candidate started');

  return {
    name,
    election,
    current: () => hp,
    status,
    async stop() {
      stopped = true;
      await chain;
      await standBy('stopping');
      await closeStandby();
      await election.resign();
      election.client.close();
      process.off('uncaughtException', onUncaught);
    },
  };
}
