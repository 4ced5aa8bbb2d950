import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Bundle } from './bundle.js';
import { nativeMismatch } from './bundle.js';
import type { HostFailure } from './errors.js';
import { DeployError } from './errors.js';
import type { HeadApi } from './head-api.js';
import { JoinWatcher } from './head-api.js';
import type { Target } from './host-list.js';
import type { RowState } from './live-table.js';
import type { ServiceResult } from './service.js';
import type { SshOptions } from './ssh-session.js';
import { SshSession, shq } from './ssh-session.js';

/**
 * `bramble deploy`: for each host, in parallel (`parallel` at once), with retries for connection
 * failures:
 *   connect   SSH, host key checked against known_hosts
 *   check     Node.js >= 20 present; systemd, sudo; what is already installed
 *   upload    the bundle, unless a bundle with the same id is there (streamed into `tar -x`)
 *   configure DIR/worker.json (head address and join token), mode 0600, written only when it differs
 *   start     `bramble service install worker` on the host (systemd units or supervised processes)
 *   join      every instance is `ready` on the head, with the pid the host reported
 * Every step is a no-op when its result is already there, so running deploy again restarts nothing.
 */
export type Step = 'connect' | 'check' | 'upload' | 'configure' | 'start' | 'join' | 'stop' | 'remove' | 'done';

export interface InstanceOutcome {
  instance: number;
  name: string;
  action: string;
  pid: number | null;
}

export interface HostOutcome {
  host: string;
  entry: string;
  ok: boolean;
  step: Step;
  failure?: HostFailure;
  reason?: string;
  attempts: number;
  mode?: string;
  instances: InstanceOutcome[];
  notes: string[];
}

export type DeployEvent = (host: string, step: Step | 'retry', result: string, state: RowState) => void;

export interface RemoteOptions {
  ssh: SshOptions;
  parallel: number;
  retries: number;
  /** Directory on the host, relative to the user's home unless absolute. */
  remoteDir: string;
  /** Node on the host (default: found on PATH, in ~/.local/bin or nvm). */
  node?: string;
  mode: 'auto' | 'systemd' | 'supervised';
  onEvent: DeployEvent;
}

export interface DeployOptions extends RemoteOptions {
  bundle: Bundle;
  head: HeadApi | null;
  /** HOST:PORT workers connect to (default: this machine's address on the SSH connection + the head's worker port). */
  headAddress?: string;
  joinToken: string;
  /** Instances per host; null: as often as the host is listed (seed 004's way), at least 1. */
  instances: number | null;
  slots?: number;
  /** The instances run task modules (`--allow-code`) / commands (`--allow-exec`): written to their config. */
  allowCode?: boolean;
  allowExec?: boolean;
  /** Worker name prefix: {host}, {port}, {user}, {hostname}; instance I is named PREFIX-I. */
  nameTemplate?: string;
  restart: boolean;
  wait: boolean;
  joinTimeoutMs: number;
}

export const NODE_MAJOR_MIN = 20;

interface Probe {
  home: string;
  uid: string;
  hostname: string;
  path: string;
  systemd: boolean;
  sudo: boolean;
  node: string;
  info: { version: string; platform: string; arch: string; abi: string; config: string; current: string; have: string[] } | null;
}

function remoteDirExpr(dir: string): string {
  return dir.startsWith('/') ? shq(dir) : `"$HOME"/${shq(dir)}`;
}

/** The probe: one round trip for everything deploy decides on. */
export function probeScript(remoteDir: string, node?: string): string {
  const nodeInfo =
    'const fs=require("fs"),c=require("crypto"),R=process.argv[1];let h="",cur="",have=[];' +
    'try{h=c.createHash("sha256").update(fs.readFileSync(R+"/worker.json")).digest("hex")}catch(e){}' +
    'try{cur=fs.readlinkSync(R+"/app/current")}catch(e){}' +
    'try{have=fs.readdirSync(R+"/app").filter(d=>fs.existsSync(R+"/app/"+d+"/bundle.json"))}catch(e){}' +
    'console.log("nodeinfo="+JSON.stringify({version:process.version,platform:process.platform,arch:process.arch,abi:process.versions.modules,config:h,current:cur,have}))';
  return [
    `R=${remoteDirExpr(remoteDir)}`,
    'echo "home=$HOME"',
    'echo "uid=$(id -u 2>/dev/null)"',
    'echo "hostname=$(hostname 2>/dev/null || uname -n 2>/dev/null)"',
    'echo "path=$PATH"',
    'if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi',
    'if [ "$(id -u 2>/dev/null)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then echo sudo=1; else echo sudo=0; fi',
    `NODE=${node ? shq(node) : ''}`,
    'if [ -z "$NODE" ]; then NODE=$(command -v node 2>/dev/null); fi',
    'if [ -z "$NODE" ]; then for n in "$HOME/.local/bin/node" "$HOME"/.nvm/versions/node/*/bin/node "$HOME/.volta/bin/node"; do [ -x "$n" ] && NODE=$n; done; fi',
    'echo "node=$NODE"',
    `if [ -n "$NODE" ] && [ -x "$NODE" ]; then "$NODE" -e ${shq(nodeInfo)} "$R"; fi`,
    'exit 0',
  ].join('\n');
}

export function parseProbe(out: string): Probe {
  const kv = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  let info: Probe['info'];
  try {
    info = kv.has('nodeinfo') ? (JSON.parse(kv.get('nodeinfo') as string) as Probe['info']) : null;
  } catch {
    info = null;
  }
  return {
    home: kv.get('home') ?? '',
    uid: kv.get('uid') ?? '',
    hostname: kv.get('hostname') ?? '',
    path: kv.get('path') ?? '',
    systemd: kv.get('systemd') === '1',
    sudo: kv.get('sudo') === '1',
    node: kv.get('node') ?? '',
    info,
  };
}

/** Node present and >= 20, or a DeployError saying what to do. */
export function checkNode(p: Probe): void {
  if (!p.node || !p.info) {
    throw new DeployError(
      'node',
      `Node.js not found on the host (PATH=${p.path || '?'}): bramble needs Node >= ${NODE_MAJOR_MIN}; install it (docs/deploy.md, "Node.js on the Pis") or pass --node /path/to/node`,
    );
  }
  const major = Number(/^v(\d+)/.exec(p.info.version)?.[1] ?? 0);
  if (major < NODE_MAJOR_MIN) {
    throw new DeployError(
      'node',
      `Node.js ${p.info.version} at ${p.node} is too old: bramble needs >= ${NODE_MAJOR_MIN} (Debian 12 / Raspberry Pi OS bookworm ship 18: see docs/deploy.md, "Node.js on the Pis")`,
    );
  }
}

function workerName(template: string | undefined, t: Target, probe: Probe): string {
  const tpl = template ?? (t.port === 22 ? '{host}' : '{host}:{port}');
  return tpl.replaceAll('{host}', t.host).replaceAll('{port}', String(t.port)).replaceAll('{user}', t.user).replaceAll('{hostname}', probe.hostname || t.host);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function label(t: Target): string {
  return t.entry;
}

/** Runs `work` for each target, `parallel` at once, with retries of retryable failures. */
async function forEachHost(targets: readonly Target[], o: RemoteOptions, work: (t: Target, attempt: number) => Promise<HostOutcome>): Promise<HostOutcome[]> {
  const results: HostOutcome[] = new Array<HostOutcome>(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= targets.length) return;
      const t = targets[i] as Target;
      const tries = Math.max(1, o.retries);
      for (let attempt = 1; ; attempt++) {
        try {
          results[i] = await work(t, attempt);
          break;
        } catch (err) {
          const e = err instanceof DeployError ? err : new DeployError('remote', (err as Error).message, { cause: err });
          const step = ((err as { step?: Step }).step ?? 'connect') as Step;
          if (e.retryable && attempt < tries) {
            const wait = Math.min(10_000, 1000 * 2 ** (attempt - 1));
            o.onEvent(label(t), 'retry', `try ${attempt + 1}/${tries} in ${wait / 1000} s: ${e.message}`, 'running');
            await sleep(wait);
            continue;
          }
          o.onEvent(label(t), step, `FAILED: ${e.message}${attempt > 1 ? ` (after ${attempt} tries)` : ''}`, 'failed');
          results[i] = { host: label(t), entry: t.entry, ok: false, step, failure: e.kind, reason: e.message + (attempt > 1 ? ` (after ${attempt} tries)` : ''), attempts: attempt, instances: [], notes: [] };
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.parallel, targets.length) }, () => worker()));
  return results;
}

/** Tags an error with the step it happened in. */
async function step<T>(name: Step, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err && typeof err === 'object') (err as { step?: Step }).step ??= name;
    throw err;
  }
}

async function run(s: SshSession, cmd: string, what: string, o: { stdin?: Readable | string; timeoutMs?: number } = {}): Promise<string> {
  const r = await s.exec(cmd, o);
  if (r.code !== 0) throw new DeployError('remote', `${what} failed (status ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-6).join(' | ')}`);
  return r.stdout;
}

function sudoFor(mode: RemoteOptions['mode'], p: Probe): { prefix: string; systemd: boolean } {
  const root = p.uid === '0';
  if (mode === 'supervised' || !p.systemd) {
    if (mode === 'systemd') throw new DeployError('remote', '--mode systemd: systemd is not running on this host');
    return { prefix: '', systemd: false };
  }
  if (root) return { prefix: '', systemd: true };
  if (p.sudo) return { prefix: 'sudo -n ', systemd: true };
  if (mode === 'systemd') throw new DeployError('remote', `--mode systemd: ${p.hostname || 'the host'} runs systemd but this user has no passwordless sudo (log in as root, or allow \`sudo -n\`)`);
  return { prefix: '', systemd: false };
}

function configText(headAddress: string, joinToken: string, slots?: number, allow: { allowCode?: boolean; allowExec?: boolean } = {}): string {
  const opt = { ...(allow.allowCode ? { allowCode: true } : {}), ...(allow.allowExec ? { allowExec: true } : {}) };
  return JSON.stringify({ head: headAddress, join: joinToken, ...(slots !== undefined ? { slots } : {}), ...opt, logLevel: 'info' }, null, 2) + '\n';
}

function hostForUrl(addr: string): string {
  return addr.includes(':') ? `[${addr}]` : addr;
}

/** Deploys to every target; never throws for one host's failure (it is in the outcome). */
export async function deploy(targets: readonly Target[], o: DeployOptions): Promise<HostOutcome[]> {
  const watcher = o.head ? new JoinWatcher(o.head) : null;
  const id = o.bundle.manifest.id;
  return forEachHost(targets, o, async (t, attempt) => {
    const host = label(t);
    const ev = (st: Step, result: string, state: RowState = 'running'): void => o.onEvent(host, st, result, state);
    const notes: string[] = [];
    ev('connect', attempt > 1 ? `try ${attempt}` : '…');
    const s = await step('connect', () => SshSession.connect(t, o.ssh));
    try {
      ev('connect', `ok (${s.hostKeyFingerprint.slice(0, 19)}…)`);
      ev('check', '…');
      const probe = parseProbe(await step('check', () => run(s, probeScript(o.remoteDir, o.node), 'the probe', { timeoutMs: 30_000 })));
      await step('check', async () => checkNode(probe));
      const info = probe.info as NonNullable<Probe['info']>;
      const R = o.remoteDir.startsWith('/') ? o.remoteDir : path.posix.join(probe.home, o.remoteDir);
      const mismatch = nativeMismatch(o.bundle.manifest, info);
      if (mismatch) notes.push(mismatch);
      const svc = await step('check', async () => sudoFor(o.mode, probe));
      ev('check', `node ${info.version} ${info.platform}-${info.arch}${svc.systemd ? ', systemd' : ''}`);

      // upload
      ev('upload', '…');
      if (info.have.includes(id)) ev('upload', `bundle ${id.slice(0, 8)} already there`);
      else {
        const part = `${R}/app/${id}.part`;
        await step('upload', () =>
          run(
            s,
            `umask 022 && mkdir -p ${shq(R)}/app && chmod 700 ${shq(R)} && rm -rf ${shq(part)} && mkdir ${shq(part)} && tar -xzf - -C ${shq(part)} && rm -rf ${shq(`${R}/app/${id}`)} && mv ${shq(part)} ${shq(`${R}/app/${id}`)}`,
            'unpacking the bundle',
            { stdin: createReadStream(o.bundle.file), timeoutMs: 600_000 },
          ),
        );
        ev('upload', `copied ${(o.bundle.size / 1e6).toFixed(1)} MB (bundle ${id.slice(0, 8)})`);
      }
      const wrapper = `#!/bin/sh\nexec ${shq(probe.node)} ${shq(`${R}/app/current/bin/bramble.js`)} "$@"\n`;
      if (info.current !== id) await step('upload', () => run(s, `ln -sfn ${shq(id)} ${shq(`${R}/app/current`)} && cat > ${shq(`${R}/bramble`)} && chmod 755 ${shq(`${R}/bramble`)}`, 'linking the bundle', { stdin: wrapper }));

      // configure
      ev('configure', '…');
      const headAddress = o.headAddress ?? `${hostForUrl(s.localAddress)}:${o.head?.workerPort ?? 7070}`;
      const text = configText(headAddress, o.joinToken, o.slots, { allowCode: o.allowCode, allowExec: o.allowExec });
      if (createHash('sha256').update(text).digest('hex') === info.config) ev('configure', `unchanged (head ${headAddress})`);
      else {
        await step('configure', () =>
          run(s, `umask 077 && mkdir -p ${shq(R)} && cat > ${shq(`${R}/worker.json.tmp`)} && chmod 600 ${shq(`${R}/worker.json.tmp`)} && mv -f ${shq(`${R}/worker.json.tmp`)} ${shq(`${R}/worker.json`)}`, 'writing worker.json', {
            stdin: text,
          }),
        );
        ev('configure', `written (head ${headAddress}, mode 0600)`);
      }

      // start
      ev('start', '…');
      const n = o.instances ?? Math.max(1, t.listed);
      const prefix = workerName(o.nameTemplate, t, probe);
      const cmd =
        `${svc.prefix}${shq(probe.node)} ${shq(`${R}/app/current/bin/bramble.js`)} service install worker --dir ${shq(R)} --app ${shq(`${R}/app/current`)} --node ${shq(probe.node)}` +
        ` --instances ${n} --name ${shq(prefix)} --mode ${svc.systemd ? 'systemd' : 'supervised'}${o.restart ? ' --restart' : ''} --json`;
      const out = await step('start', () => run(s, cmd, 'bramble service install', { timeoutMs: 180_000 }));
      let result: ServiceResult;
      try {
        result = JSON.parse(out.trim().split('\n').pop() ?? '') as ServiceResult;
      } catch {
        throw Object.assign(new DeployError('remote', `bramble service install printed no result: ${out.slice(-300)}`), { step: 'start' });
      }
      const instances: InstanceOutcome[] = result.processes.filter((p) => p.instance !== null && p.action !== 'removed').map((p) => ({ instance: p.instance as number, name: p.name ?? '', action: p.action, pid: p.pid }));
      const failed = result.processes.filter((p) => p.action === 'failed');
      if (failed.length > 0) throw Object.assign(new DeployError('remote', failed.map((p) => `${p.key}: ${p.reason ?? 'failed'}`).join('; ')), { step: 'start' as Step });
      notes.push(...result.notes.filter((x) => !x.startsWith('supervised processes')));
      if (result.mode === 'supervised' && probe.systemd) notes.push('systemd runs there but the user has no passwordless sudo: supervised processes, not started at boot');
      const counts = new Map<string, number>();
      for (const p of result.processes) counts.set(p.action, (counts.get(p.action) ?? 0) + 1);
      ev('start', `${[...counts].map(([a, c]) => `${c} ${a}`).join(', ')} (${result.mode})`);

      // join
      if (o.wait && watcher) {
        ev('join', `0/${instances.length}`);
        let joined = 0;
        const missing: InstanceOutcome[] = [];
        await Promise.all(
          instances.map(async (inst) => {
            const node = await watcher.wait(inst.name, inst.pid, o.joinTimeoutMs);
            if (node) ev('join', `${++joined}/${instances.length}`);
            else missing.push(inst);
          }),
        );
        if (missing.length > 0) {
          const logCmd = svc.systemd
            ? missing.map((m) => `${svc.prefix}journalctl -u bramble-worker@${m.instance} -n 4 --no-pager 2>&1`).join('; ')
            : missing.map((m) => `tail -n 4 ${shq(`${R}/logs/worker-${m.instance}.log`)} 2>&1`).join('; ');
          const logs = await s.exec(logCmd, { timeoutMs: 15_000 }).then((r) => r.stdout.trim().split('\n').slice(-4).join(' | '), () => '');
          throw Object.assign(
            new DeployError(
              'join',
              `${missing.map((m) => m.name).join(', ')} did not join the head within ${Math.round(o.joinTimeoutMs / 1000)} s: the host was told the head is at ${headAddress} ` +
                `(wrong? pass --head HOST:PORT; a firewall?)${watcher.lastError ? `; head API: ${watcher.lastError}` : ''}${logs ? `; log: ${logs}` : ''}`,
            ),
            { step: 'join' as Step },
          );
        }
      }
      // old bundles go once the new one runs
      await s.exec(`cd ${shq(`${R}/app`)} && for d in *; do case "$d" in current|${id}) ;; *) rm -rf "$d" ;; esac; done`, { timeoutMs: 60_000 }).catch(() => undefined);
      const changed = instances.filter((i) => i.action !== 'unchanged').length;
      ev('done', `${instances.length} instance${instances.length === 1 ? '' : 's'} ${o.wait && watcher ? 'joined' : 'running'}${changed === 0 ? ', nothing changed' : ''}`, 'ok');
      return { host, entry: t.entry, ok: true, step: 'done', attempts: attempt, mode: result.mode, instances, notes };
    } finally {
      s.close();
    }
  });
}

export type UndeployOptions = RemoteOptions;

/** Stops the services deploy installed and removes its directory on every target. */
export async function undeploy(targets: readonly Target[], o: UndeployOptions): Promise<HostOutcome[]> {
  return forEachHost(targets, o, async (t, attempt) => {
    const host = label(t);
    const ev = (st: Step, result: string, state: RowState = 'running'): void => o.onEvent(host, st, result, state);
    ev('connect', attempt > 1 ? `try ${attempt}` : '…');
    const s = await step('connect', () => SshSession.connect(t, o.ssh));
    try {
      const probe = parseProbe(await step('check', () => run(s, probeScript(o.remoteDir, o.node), 'the probe', { timeoutMs: 30_000 })));
      const R = o.remoteDir.startsWith('/') ? o.remoteDir : path.posix.join(probe.home, o.remoteDir);
      ev('stop', '…');
      let removed: number | null = null;
      const bin = `${R}/app/current/bin/bramble.js`;
      if (probe.node && probe.info) {
        const sudo = probe.systemd && probe.uid !== '0' && probe.sudo ? 'sudo -n ' : '';
        const r = await s.exec(`if [ -f ${shq(bin)} ]; then ${sudo}${shq(probe.node)} ${shq(bin)} service uninstall worker --dir ${shq(R)} --json; else echo '{"processes":[]}'; fi`, { timeoutMs: 180_000 });
        if (r.code === 0) {
          try {
            removed = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ServiceResult).processes.length;
          } catch {
            removed = null;
          }
        }
      }
      if (removed === null) {
        // no usable bramble on the host: stop supervisors by their pid files
        await s.exec(`for f in ${shq(R)}/run/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done; sleep 3; exit 0`, { timeoutMs: 60_000 });
      }
      ev('stop', removed === null ? 'stopped by pid files' : `${removed} instance${removed === 1 ? '' : 's'} stopped`);
      ev('remove', '…');
      await step('remove', () => run(s, `rm -rf ${shq(R)}`, `removing ${R}`, { timeoutMs: 120_000 }));
      ev('done', `removed ${R}`, 'ok');
      return { host, entry: t.entry, ok: true, step: 'done', attempts: attempt, instances: [], notes: [] };
    } finally {
      s.close();
    }
  });
}

/** The failed-hosts file: a host file (`--hosts` takes it) with each host's reason as a comment. */
export function failedHostsFile(outcomes: readonly HostOutcome[], command: string, file: string): string {
  const failed = outcomes.filter((h) => !h.ok);
  const lines = [`# bramble ${command} ${new Date().toISOString()}: ${failed.length} of ${outcomes.length} host${outcomes.length === 1 ? '' : 's'} failed`];
  if (failed.length > 0) lines.push(`# retry them with: bramble ${command} --hosts ${file}`);
  const w = Math.max(0, ...failed.map((h) => h.entry.length));
  for (const h of failed) lines.push(`${h.entry.padEnd(w)}  # ${h.step}: ${(h.reason ?? '').replace(/\s*\n\s*/g, ' ')}`);
  return lines.join('\n') + '\n';
}
