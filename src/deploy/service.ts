import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readHeadState } from '../trust/index.js';
import path from 'node:path';
import { promisify } from 'node:util';
import { ServiceError } from './errors.js';
import { probeInstanceLock } from './instance-lock.js';

const execFileP = promisify(execFile);

/**
 * `bramble service`: bramble processes kept running on this machine.
 * - `systemd`: a unit per process (`bramble-worker@I.service`, `bramble-head.service`), started at boot,
 *   restarted by systemd, logs in the journal. Needs root (deploy uses `sudo -n` when it may).
 * - `supervised`: no systemd or no root: a small `/bin/sh` supervisor per process, detached from the
 *   terminal (setsid), restarting it with backoff (1 s doubling to 60 s), its pid in `run/`, its output
 *   appended to `logs/`. Not started at boot.
 *
 * Each process started is recorded in `run/<key>.service.json` with a fingerprint of what it runs (the
 * installed bramble, the worker config, the command line, the unit text). Installing again changes
 * nothing while a process is running with the same fingerprint; a different one (an update, a new
 * config) restarts it; `restart: true` restarts every one.
 */
export type ServiceMode = 'systemd' | 'supervised';

/** What happened to one process. */
export type ServiceAction = 'started' | 'restarted' | 'unchanged' | 'removed' | 'stopped' | 'failed';

export interface ServiceReport {
  key: string;
  instance: number | null;
  name: string | null;
  action: ServiceAction;
  pid: number | null;
  reason?: string;
}

export interface ServiceResult {
  mode: ServiceMode;
  dir: string;
  processes: ServiceReport[];
  notes: string[];
}

export interface ServiceStatus {
  key: string;
  instance: number | null;
  name: string | null;
  mode: ServiceMode;
  state: 'running' | 'starting' | 'stopped' | 'foreign';
  pid: number | null;
  supervisorPid: number | null;
  since: string | null;
  log: string;
}

interface ServiceRecord {
  key: string;
  mode: ServiceMode;
  instance: number | null;
  name: string | null;
  fingerprint: string;
  startedAt: string;
  supervisor?: { pid: number; start: string | null };
  unit?: string;
}

/** Where systemd units are written; `BRAMBLE_SYSTEMD_DIR` overrides it for tests. */
export function systemdUnitDir(): string {
  return process.env['BRAMBLE_SYSTEMD_DIR'] ?? '/etc/systemd/system';
}

/** Whether systemd manages this machine (`BRAMBLE_SYSTEMD_DIR` set counts as yes: tests use a stand-in). */
export function systemdRunning(): boolean {
  return process.env['BRAMBLE_SYSTEMD_DIR'] !== undefined || existsSync('/run/systemd/system');
}

export function chooseMode(requested: 'auto' | ServiceMode, env: { systemd: boolean; root: boolean }): ServiceMode {
  if (requested === 'systemd') {
    if (!env.systemd) throw new ServiceError('--mode systemd: systemd is not running on this machine (use --mode supervised)');
    if (!env.root) throw new ServiceError('--mode systemd: installing systemd units needs root: run with sudo, or use --mode supervised');
    return 'systemd';
  }
  if (requested === 'supervised') return 'supervised';
  return env.systemd && env.root ? 'systemd' : 'supervised';
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Quotes one ExecStart word for systemd (spaces, quotes, `%` specifiers). */
function unitWord(w: string): string {
  const s = w.replace(/%/g, '%%');
  return /[\s"'\\]/.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : s;
}

/** Instance-specific `%i` must stay a specifier. */
function unitArgs(argv: readonly string[]): string {
  return argv.map((a) => (a.includes('%i') ? a.split('%i').map((p) => unitWord(p)).join('%i') : unitWord(a))).join(' ');
}

export interface UnitOptions {
  description: string;
  argv: string[];
  uid: number;
  gid: number;
  workingDirectory: string;
}

/** A systemd service unit (a template when argv uses %i). */
export function systemdUnit(o: UnitOptions): string {
  return [
    '# Written by `bramble service install` (or `bramble deploy`); `bramble service uninstall` removes it.',
    '[Unit]',
    `Description=${o.description}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${o.uid}`,
    `Group=${o.gid}`,
    `WorkingDirectory=${unitWord(o.workingDirectory)}`,
    `ExecStart=${unitArgs(o.argv)}`,
    'Restart=always',
    'RestartSec=2',
    'KillSignal=SIGTERM',
    // a worker drains its chunks for up to 30 s on SIGTERM
    'TimeoutStopSec=40',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The supervisor: keeps one command running, passes SIGTERM on, restarts with backoff. */
export const SUPERVISOR_SCRIPT = `#!/bin/sh
# Written by \`bramble service\`: keeps one bramble process running, starting it again when it exits.
# usage: supervise.sh PIDFILE COMMAND [ARGS...]; SIGTERM stops the process (it drains), then this script.
pidfile=$1
shift
echo $$ > "$pidfile"
child=
sleeper=
term() {
  trap - TERM INT
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child"
  fi
  rm -f "$pidfile"
  exit 0
}
trap term TERM INT
trap '' HUP
delay=1
while :; do
  started=$(date +%s)
  "$@" &
  child=$!
  wait "$child"
  code=$?
  child=
  [ $(( $(date +%s) - started )) -ge 60 ] && delay=1
  echo "$(date '+%Y-%m-%dT%H:%M:%S%z') bramble supervisor: process exited with status $code; starting it again in \${delay}s"
  sleep "$delay" &
  sleeper=$!
  wait "$sleeper"
  sleeper=
  [ "$delay" -lt 60 ] && delay=$((delay * 2))
done
`;

/** Process start time from /proc (Linux), so a recycled pid is not taken for our supervisor. */
function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(pid: number, start: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === null || process.platform !== 'linux') return true;
  return procStart(pid) === start;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function systemctl(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await execFileP('systemctl', args, { timeout: 90_000 });
    return { code: 0, out: r.stdout.trim() };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
  }
}

function tail(file: string, lines = 8): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * The processes of one service directory: the worker instances of `~/.bramble-worker` (or a head's data
 * dir). Files it writes are given to the directory's owner when it runs as root (deploy with sudo).
 */
export class ServiceDir {
  readonly runDir: string;
  readonly logDir: string;

  constructor(readonly dir: string) {
    this.runDir = path.join(dir, 'run');
    this.logDir = path.join(dir, 'logs');
  }

  /** Gives a file to the directory's owner when running as root (deploy with sudo). */
  own(file: string): void {
    if (!isRoot()) return;
    const st = statSync(this.dir);
    if (st.uid !== 0) chownSync(file, st.uid, st.gid);
  }

  ensure(): void {
    for (const d of [this.dir, this.runDir, this.logDir]) {
      if (!existsSync(d)) {
        mkdirSync(d, { recursive: true, mode: 0o700 });
        this.own(d);
      }
    }
  }

  write(file: string, text: string, mode: number): boolean {
    if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, text, { mode });
    this.own(tmp);
    renameSync(tmp, file);
    return true;
  }

  records(): ServiceRecord[] {
    if (!existsSync(this.runDir)) return [];
    return readdirSync(this.runDir)
      .filter((f) => f.endsWith('.service.json'))
      .flatMap((f) => {
        try {
          return [JSON.parse(readFileSync(path.join(this.runDir, f), 'utf8')) as ServiceRecord];
        } catch {
          return [];
        }
      });
  }

  record(key: string): ServiceRecord | null {
    const file = path.join(this.runDir, `${key}.service.json`);
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ServiceRecord;
    } catch {
      return null;
    }
  }

  saveRecord(r: ServiceRecord): void {
    this.write(path.join(this.runDir, `${r.key}.service.json`), JSON.stringify(r, null, 2) + '\n', 0o644);
  }

  dropRecord(key: string): void {
    rmSync(path.join(this.runDir, `${key}.service.json`), { force: true });
  }

  logFile(key: string): string {
    return path.join(this.logDir, `${key}.log`);
  }
}

/** One process to keep running. */
export interface ProcessSpec {
  /** `worker-1`, `head` */
  key: string;
  instance: number | null;
  name: string | null;
  /** The full command (node, bramble.js, arguments). */
  argv: string[];
  /** systemd: the unit instance (`bramble-worker@1.service`) and the unit file it comes from. */
  unit: string;
  unitFile: string;
  unitText: string;
  /** Extra input to the fingerprint (installed version, config contents). */
  inputs: string[];
  /** The pid of the running process, found without a process scan (lock holder, MainPID...). */
  probe(mode: ServiceMode, rec: ServiceRecord | null): Promise<{ pid: number; ours: boolean } | null>;
}

function fingerprintOf(spec: ProcessSpec, mode: ServiceMode): string {
  const h = createHash('sha256').update(mode).update('\0').update(spec.argv.join('\0'));
  if (mode === 'systemd') h.update('\0').update(spec.unitText);
  for (const i of spec.inputs) h.update('\0').update(i);
  return h.digest('hex').slice(0, 24);
}

export class ServiceManager {
  constructor(readonly sd: ServiceDir) {}

  async status(spec: ProcessSpec, rec: ServiceRecord | null): Promise<ServiceStatus> {
    const mode = rec?.mode ?? 'supervised';
    const base = { key: spec.key, instance: spec.instance, name: rec?.name ?? spec.name, mode, since: rec?.startedAt ?? null, log: mode === 'systemd' ? `journalctl -u ${spec.unit}` : this.sd.logFile(spec.key) };
    const found = await spec.probe(mode, rec);
    const sup = rec?.supervisor && alive(rec.supervisor.pid, rec.supervisor.start) ? rec.supervisor.pid : null;
    if (found && !found.ours) return { ...base, state: 'foreign', pid: found.pid, supervisorPid: sup };
    if (found) return { ...base, state: 'running', pid: found.pid, supervisorPid: sup };
    if (mode === 'systemd' && rec) {
      const active = await systemctl('is-active', spec.unit);
      if (active.out === 'activating' || active.out === 'active') return { ...base, state: 'starting', pid: null, supervisorPid: null };
    }
    return { ...base, state: sup ? 'starting' : 'stopped', pid: null, supervisorPid: sup };
  }

  private async startSupervised(spec: ProcessSpec): Promise<ServiceRecord['supervisor']> {
    this.sd.ensure();
    const script = path.join(this.sd.dir, 'supervise.sh');
    this.sd.write(script, SUPERVISOR_SCRIPT, 0o755);
    const log = this.sd.logFile(spec.key);
    try {
      if (statSync(log).size > 10 * 1024 * 1024) renameSync(log, `${log}.1`);
    } catch {
      /* no log yet */
    }
    const fd = openSync(log, 'a', 0o600);
    const pidFile = path.join(this.sd.runDir, `${spec.key}.pid`);
    const child = spawn('/bin/sh', [script, pidFile, ...spec.argv], { detached: true, stdio: ['ignore', fd, fd], cwd: this.sd.dir, env: { ...process.env, BRAMBLE_SUPERVISED: '1' } });
    closeSync(fd);
    const pid = child.pid;
    child.unref();
    if (pid === undefined) throw new ServiceError(`cannot start /bin/sh for ${spec.key}`);
    this.sd.own(log);
    return { pid, start: procStart(pid) };
  }

  /** Stops one process (drains a worker: up to 40 s). */
  async stop(spec: ProcessSpec, rec: ServiceRecord | null): Promise<void> {
    if (rec?.mode === 'systemd') {
      await systemctl('disable', '--now', spec.unit);
      return;
    }
    const sup = rec?.supervisor;
    if (sup && alive(sup.pid, sup.start)) {
      try {
        process.kill(sup.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const end = Date.now() + 45_000;
      while (alive(sup.pid, sup.start) && Date.now() < end) await sleep(100);
      if (alive(sup.pid, sup.start)) {
        const found = await spec.probe('supervised', rec);
        process.kill(sup.pid, 'SIGKILL');
        if (found?.ours) process.kill(found.pid, 'SIGKILL');
      }
      rmSync(path.join(this.sd.runDir, `${spec.key}.pid`), { force: true });
    }
    // the process itself: wait until it lets go of its lock
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const found = await spec.probe('supervised', rec);
      if (!found || !found.ours) return;
      await sleep(100);
    }
  }

  private async start(spec: ProcessSpec, mode: ServiceMode, fingerprint: string): Promise<ServiceRecord> {
    const rec: ServiceRecord = { key: spec.key, mode, instance: spec.instance, name: spec.name, fingerprint, startedAt: new Date().toISOString() };
    if (mode === 'systemd') {
      rec.unit = spec.unit;
      const en = await systemctl('enable', spec.unit);
      if (en.code !== 0) throw new ServiceError(`systemctl enable ${spec.unit} failed: ${en.out}`);
      const st = await systemctl('restart', spec.unit);
      if (st.code !== 0) throw new ServiceError(`systemctl restart ${spec.unit} failed: ${st.out}`);
    } else {
      rec.supervisor = await this.startSupervised(spec);
    }
    this.sd.saveRecord(rec);
    return rec;
  }

  /** Waits until a started process shows up (holds its lock); a failure carries the log's last lines. */
  async waitRunning(spec: ProcessSpec, rec: ServiceRecord, timeoutMs: number): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = await spec.probe(rec.mode, rec);
      if (found?.ours) return found.pid;
      if (found && !found.ours) throw new ServiceError(`${spec.key}: process ${found.pid}, not started by bramble service, holds this instance (stop it, or choose other instances)`);
      if (rec.mode === 'supervised' && rec.supervisor && !alive(rec.supervisor.pid, rec.supervisor.start)) {
        throw new ServiceError(`${spec.key}: the supervisor exited; ${this.sd.logFile(spec.key)} ends with:\n${tail(this.sd.logFile(spec.key))}`);
      }
      if (Date.now() > end) {
        const where = rec.mode === 'systemd' ? `journalctl -u ${spec.unit}` : this.sd.logFile(spec.key);
        const last = rec.mode === 'systemd' ? (await systemctl('status', '--no-pager', '-n', '8', spec.unit)).out : tail(this.sd.logFile(spec.key));
        throw new ServiceError(`${spec.key} did not start within ${Math.round(timeoutMs / 1000)} s (see ${where}):\n${last}`);
      }
      await sleep(150);
    }
  }

  /**
   * Makes the given processes run (and only them, among `keys` it manages with `prefix`): starts what is
   * missing, restarts what runs something else, stops what is no longer wanted.
   */
  async apply(specs: ProcessSpec[], o: { mode: ServiceMode; restart: boolean; prefix: string; startTimeoutMs?: number; removeSpec: (rec: ServiceRecord) => ProcessSpec }): Promise<ServiceResult> {
    this.sd.ensure();
    const notes: string[] = [];
    const reports: ServiceReport[] = [];
    const wanted = new Set(specs.map((s) => s.key));
    // processes no longer wanted (fewer instances than last time), or recorded under another mode
    const gone = this.sd.records().filter((rec) => rec.key.startsWith(o.prefix) && (!wanted.has(rec.key) || rec.mode !== o.mode));
    await Promise.all(
      gone.map(async (rec) => {
        await this.stop(o.removeSpec(rec), rec);
        this.sd.dropRecord(rec.key);
        if (!wanted.has(rec.key)) reports.push({ key: rec.key, instance: rec.instance, name: rec.name, action: 'removed', pid: null });
        else notes.push(`${rec.key}: moved from ${rec.mode} to ${o.mode}`);
      }),
    );
    if (o.mode === 'systemd') {
      const files = new Map<string, string>();
      for (const s of specs) files.set(s.unitFile, s.unitText);
      let changed = false;
      for (const [file, text] of files) {
        if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
          writeFileSync(file, text, { mode: 0o644 });
          changed = true;
        }
      }
      if (changed) await systemctl('daemon-reload');
    }
    const started: { spec: ProcessSpec; rec: ServiceRecord; report: ServiceReport }[] = [];
    for (const spec of specs) {
      const fp = fingerprintOf(spec, o.mode);
      const rec = this.sd.record(spec.key);
      const st = await this.status(spec, rec);
      const report: ServiceReport = { key: spec.key, instance: spec.instance, name: spec.name, action: 'unchanged', pid: st.pid };
      if (st.state === 'foreign') {
        reports.push({ ...report, action: 'failed', reason: `process ${st.pid ?? '?'}, not started by bramble service, runs ${spec.key}: stop it first` });
        continue;
      }
      const same = rec !== null && rec.fingerprint === fp;
      if (st.state === 'running' && same && !o.restart) {
        reports.push(report);
        continue;
      }
      if (st.state !== 'stopped') {
        report.action = 'restarted';
        report.reason = o.restart && same ? '--restart' : 'new version or settings';
        await this.stop(spec, rec);
      } else {
        report.action = 'started';
        if (rec) report.reason = 'was not running';
      }
      try {
        const nrec = await this.start(spec, o.mode, fp);
        started.push({ spec, rec: nrec, report });
      } catch (err) {
        reports.push({ ...report, action: 'failed', reason: (err as Error).message });
      }
    }
    // wait for the started ones together
    await Promise.all(
      started.map(async ({ spec, rec, report }) => {
        try {
          report.pid = await this.waitRunning(spec, rec, o.startTimeoutMs ?? 30_000);
        } catch (err) {
          report.action = 'failed';
          report.reason = (err as Error).message;
        }
        reports.push(report);
      }),
    );
    reports.sort((a, b) => (a.key < b.key ? -1 : 1));
    if (o.mode === 'supervised') notes.push('supervised processes are not started again after a reboot (systemd units are): rerun the install or deploy after a reboot');
    return { mode: o.mode, dir: this.sd.dir, processes: reports, notes };
  }
}

/* ---------------- workers ---------------- */

export interface WorkerServiceOptions {
  /** The service directory: worker.json, run/, logs/ (default ~/.bramble-worker). */
  dir: string;
  /** The bramble installation to run (a deployed bundle: DIR/app/current). */
  app: string;
  node: string;
  instances: number;
  /** Worker names are PREFIX-I (default: the worker's own default, hostname-I). */
  namePrefix?: string;
}

export const WORKER_CONFIG = 'worker.json';

function appIdentity(app: string): string {
  let real = app;
  try {
    real = realpathSync(app);
  } catch {
    /* missing: the start will say so */
  }
  const read = (f: string): string => {
    try {
      return readFileSync(path.join(real, f), 'utf8');
    } catch {
      return '';
    }
  };
  return `${real}\0${read('bundle.json') || read('package.json')}`;
}

export function workerSpecs(o: WorkerServiceOptions): ProcessSpec[] {
  const dir = path.resolve(o.dir);
  const config = path.join(dir, WORKER_CONFIG);
  const bin = path.join(o.app, 'bin', 'bramble.js');
  const st = existsSync(dir) ? statSync(dir) : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const configText = existsSync(config) ? readFileSync(config, 'utf8') : '';
  const app = appIdentity(o.app);
  const nameArgs = (i: string): string[] => (o.namePrefix ? ['--name', `${o.namePrefix}-${i}`] : []);
  const unitText = systemdUnit({
    description: 'bramble worker instance %i',
    argv: [o.node, bin, 'worker', '--data', dir, '--config', config, '--instance', '%i', ...nameArgs('%i')],
    uid: st.uid,
    gid: st.gid,
    workingDirectory: dir,
  });
  return Array.from({ length: o.instances }, (_, k) => workerSpec(dir, k + 1, { node: o.node, bin, config, name: o.namePrefix ? `${o.namePrefix}-${k + 1}` : null, unitText, inputs: [app, configText] }));
}

function workerSpec(dir: string, instance: number, o: { node: string; bin: string; config: string; name: string | null; unitText: string; inputs: string[] }): ProcessSpec {
  const key = `worker-${instance}`;
  const unit = `bramble-worker@${instance}.service`;
  return {
    key,
    instance,
    name: o.name,
    argv: [o.node, o.bin, 'worker', '--data', dir, '--config', o.config, '--instance', String(instance), ...(o.name ? ['--name', o.name] : [])],
    unit,
    unitFile: path.join(systemdUnitDir(), 'bramble-worker@.service'),
    unitText: o.unitText,
    inputs: o.inputs,
    async probe(mode, rec) {
      const holder = await probeInstanceLock(dir, instance);
      if (!holder) return null;
      if (mode === 'systemd') {
        const main = await systemctl('show', '-p', 'MainPID', '--value', unit);
        return { pid: holder.pid, ours: Number(main.out) === holder.pid };
      }
      return { pid: holder.pid, ours: rec?.supervisor !== undefined && holder.ppid === rec.supervisor.pid };
    },
  };
}

/** A spec good enough to stop a recorded worker (when the wanted set no longer has it). */
export function recordedWorkerSpec(dir: string, rec: ServiceRecord): ProcessSpec {
  return workerSpec(dir, rec.instance ?? 0, { node: '', bin: '', config: '', name: rec.name, unitText: '', inputs: [] });
}

export async function installWorkers(o: WorkerServiceOptions & { mode: 'auto' | ServiceMode; restart: boolean; startTimeoutMs?: number }): Promise<ServiceResult> {
  const dir = path.resolve(o.dir);
  if (!existsSync(path.join(dir, WORKER_CONFIG))) throw new ServiceError(`${path.join(dir, WORKER_CONFIG)} is missing: give --head and --join (or --data of a cluster on this machine)`);
  if (!existsSync(path.join(o.app, 'bin', 'bramble.js'))) throw new ServiceError(`no bramble installation in ${o.app}`);
  if (!Number.isInteger(o.instances) || o.instances < 0 || o.instances > 64) throw new ServiceError(`--instances must be an integer from 0 to 64 (got ${o.instances})`);
  const mode = chooseMode(o.mode, { systemd: systemdRunning(), root: isRoot() });
  const sd = new ServiceDir(dir);
  const mgr = new ServiceManager(sd);
  const result = await mgr.apply(workerSpecs(o), { mode, restart: o.restart, prefix: 'worker-', startTimeoutMs: o.startTimeoutMs, removeSpec: (rec) => recordedWorkerSpec(dir, rec) });
  if (mode === 'systemd' && o.instances === 0) rmSync(path.join(systemdUnitDir(), 'bramble-worker@.service'), { force: true });
  return result;
}

export async function workerStatus(dirIn: string): Promise<ServiceStatus[]> {
  const dir = path.resolve(dirIn);
  const sd = new ServiceDir(dir);
  const mgr = new ServiceManager(sd);
  const out: ServiceStatus[] = [];
  for (const rec of sd.records().filter((r) => r.key.startsWith('worker-')).sort((a, b) => (a.instance ?? 0) - (b.instance ?? 0))) out.push(await mgr.status(recordedWorkerSpec(dir, rec), rec));
  return out;
}

/** Stops and removes every recorded worker of the directory, its units, supervisor and state. */
export async function uninstallWorkers(dirIn: string): Promise<ServiceResult> {
  const dir = path.resolve(dirIn);
  const sd = new ServiceDir(dir);
  const mgr = new ServiceManager(sd);
  const reports: ServiceReport[] = [];
  const recs = sd.records().filter((r) => r.key.startsWith('worker-'));
  const mode: ServiceMode = recs.some((r) => r.mode === 'systemd') ? 'systemd' : 'supervised';
  await Promise.all(
    recs.map(async (rec) => {
      await mgr.stop(recordedWorkerSpec(dir, rec), rec);
      sd.dropRecord(rec.key);
      reports.push({ key: rec.key, instance: rec.instance, name: rec.name, action: 'removed', pid: null });
    }),
  );
  reports.sort((a, b) => (a.key < b.key ? -1 : 1));
  if (mode === 'systemd' || existsSync(path.join(systemdUnitDir(), 'bramble-worker@.service'))) {
    if (isRoot()) {
      rmSync(path.join(systemdUnitDir(), 'bramble-worker@.service'), { force: true });
      await systemctl('daemon-reload');
    }
  }
  for (const f of ['supervise.sh', 'run', 'logs']) rmSync(path.join(dir, f), { recursive: true, force: true });
  return { mode, dir, processes: reports, notes: [] };
}

/* ---------------- head ---------------- */

export function headSpec(o: { data: string; app: string; node: string; extraArgs?: string[] }): ProcessSpec {
  const data = path.resolve(o.data);
  const bin = path.join(o.app, 'bin', 'bramble.js');
  const argv = [o.node, bin, 'head', '--data', data, ...(o.extraArgs ?? [])];
  const st = existsSync(data) ? statSync(data) : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return {
    key: 'head',
    instance: null,
    name: 'head',
    argv,
    unit: 'bramble-head.service',
    unitFile: path.join(systemdUnitDir(), 'bramble-head.service'),
    unitText: systemdUnit({ description: 'bramble head', argv, uid: st.uid, gid: st.gid, workingDirectory: data }),
    inputs: [appIdentity(o.app)],
    async probe(mode, rec) {
      if (mode === 'systemd') {
        const main = await systemctl('show', '-p', 'MainPID', '--value', 'bramble-head.service');
        const pid = Number(main.out);
        return pid > 0 ? { pid, ours: true } : null;
      }
      const sup = rec?.supervisor;
      if (!sup || !alive(sup.pid, sup.start)) return null;
      const state = readHeadState(data); // null until the head has written it
      if (typeof state?.pid === 'number' && alive(state.pid, null)) return { pid: state.pid, ours: true };
      return null;
    },
  };
}

export async function installHead(o: { data: string; app: string; node: string; mode: 'auto' | ServiceMode; restart: boolean }): Promise<ServiceResult> {
  const mode = chooseMode(o.mode, { systemd: systemdRunning(), root: isRoot() });
  const sd = new ServiceDir(path.resolve(o.data));
  const spec = headSpec(o);
  return new ServiceManager(sd).apply([spec], { mode, restart: o.restart, prefix: 'head', startTimeoutMs: 60_000, removeSpec: () => spec });
}

export async function headStatus(data: string, app: string, node: string): Promise<ServiceStatus | null> {
  const sd = new ServiceDir(path.resolve(data));
  const rec = sd.record('head');
  if (!rec) return null;
  return new ServiceManager(sd).status(headSpec({ data, app, node }), rec);
}

export async function uninstallHead(data: string, app: string, node: string): Promise<ServiceResult> {
  const sd = new ServiceDir(path.resolve(data));
  const rec = sd.record('head');
  const spec = headSpec({ data, app, node });
  const reports: ServiceReport[] = [];
  if (rec) {
    await new ServiceManager(sd).stop(spec, rec);
    sd.dropRecord('head');
    reports.push({ key: 'head', instance: null, name: 'head', action: 'removed', pid: null });
    if (rec.mode === 'systemd' && isRoot()) {
      rmSync(spec.unitFile, { force: true });
      await systemctl('daemon-reload');
    }
  }
  return { mode: rec?.mode ?? 'supervised', dir: sd.dir, processes: reports, notes: [] };
}
