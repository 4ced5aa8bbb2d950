import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrambleError, InputError } from '../core/index.js';
import type { MessageOf } from '../protocol/index.js';
import { MAX_EXEC_FILES_BYTES } from '../protocol/index.js';
import { AGENT_SOCKET_ENV } from './agent.js';
import { AgentFrame, agentFrame } from './agent-wire.js';
import type { ExecClient, HeadApi } from './exec-client.js';
import { ExecClient as Client, getJson } from './exec-client.js';
import type { MpiFlavour, NodeInfo, Plan, PlannedHost } from './plan.js';
import { hostfile, launchCommand, planRanks, rankList } from './plan.js';
import type { MpiFacts } from './probe.js';
import { checkFacts, parseProbe, probeScript, pythonOf, shQuote } from './probe.js';

/** Same path as the worker's run directories (worker/exec-runner.ts): the ranks' working directory everywhere. */
const RUN_BASE = '/tmp/bramble-exec';

export interface MpirunOptions {
  api: HeadApi;
  n: number;
  perNode?: number;
  nodes?: string[];
  flavour?: MpiFlavour;
  /** Files shipped to every node's run directory (the script named in the command is shipped without asking). */
  files: string[];
  command: string[];
  /** CIDR MPI's TCP traffic keeps to (default: the local network that holds the first node's address). */
  net?: string;
  /** Checks before the launch (default on). */
  check?: boolean;
  /** Where bramble's own lines go (default stderr). */
  say?: (line: string) => void;
}

type ShippedFile = MessageOf<'exec-open'>['files'][number];

function shipFiles(o: MpirunOptions): ShippedFile[] {
  const out = new Map<string, ShippedFile>();
  const add = (file: string, flag: string, explicit: boolean): void => {
    const name = path.basename(file);
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(name)) {
      if (explicit) throw new InputError(flag, `${flag} ${file}: the file name must be letters, digits, . _ - (it is written under that name on each node)`);
      return;
    }
    let data: Buffer;
    let mode: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a regular file');
      data = readFileSync(file);
      mode = st.mode & 0o777;
    } catch (err) {
      if (explicit) throw new InputError(flag, `${flag}: cannot read ${file}: ${(err as Error).message}`);
      return;
    }
    const prev = out.get(name);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (prev && prev.sha256 !== sha256) throw new InputError(flag, `${flag}: two different files are called ${name}`);
    out.set(name, { name, sha256, mode, data });
  };
  for (const f of o.files) add(f, '--file', true);
  // the script of `python3 prime.py 100000`: a word of the command naming a file here, by a plain name
  for (const w of o.command.slice(1)) if (!w.includes('/') && !w.startsWith('-')) add(w, 'command', false);
  const total = [...out.values()].reduce((s, f) => s + f.data.length, 0);
  if (total > MAX_EXEC_FILES_BYTES) throw new InputError('--file', `--file: the files come to ${total} bytes, over the ${MAX_EXEC_FILES_BYTES}-byte limit of a launch`);
  return [...out.values()];
}

function ipv4ToInt(a: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (!m) return null;
  return m.slice(1).reduce((n, x) => n * 256 + Number(x), 0);
}

/** This machine's interface on the network of `address`: its CIDR (network/prefix) and own address. */
export function localNetworkOf(address: string): { cidr: string; local: string } | null {
  const target = ipv4ToInt(address);
  if (target === null) return null;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4' || a.internal || !a.cidr) continue;
      const prefix = Number(a.cidr.split('/')[1]);
      const mine = ipv4ToInt(a.address);
      if (mine === null || !(prefix >= 0 && prefix <= 32)) continue;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      if (((mine & mask) >>> 0) === ((target & mask) >>> 0)) {
        const netInt = (mine & mask) >>> 0;
        const dotted = [24, 16, 8, 0].map((s) => (netInt >>> s) & 255).join('.');
        return { cidr: `${dotted}/${prefix}`, local: a.address };
      }
    }
  }
  return null;
}

function localProbe(python: string | null): Promise<MpiFacts> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', probeScript(python)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => resolve(parseProbe(out, python !== null)));
    child.on('error', () => resolve(parseProbe('', python !== null)));
  });
}

/** Writes the run directory here too: ranks that mpirun starts on this machine itself work in it. */
function localRunDir(run: string, files: ShippedFile[]): () => void {
  const dir = path.join(RUN_BASE, run);
  const marker = path.join(dir, '.users', `mpirun-${process.pid}`);
  mkdirSync(path.dirname(marker), { recursive: true });
  writeFileSync(marker, '');
  for (const f of files) {
    writeFileSync(path.join(dir, f.name), f.data);
    chmodSync(path.join(dir, f.name), f.mode ?? 0o644);
  }
  return () => {
    try {
      unlinkSync(marker);
      rmdirSync(path.dirname(marker));
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* a worker of this machine still uses it: it removes it */
    }
  };
}

/**
 * The relay between the agents mpirun starts (one per node, over a Unix socket) and the head: each
 * agent's command becomes a channel to the worker with that address, its output comes back to the
 * agent, its end is the agent's exit. An agent that dies kills its remote command.
 */
class AgentRelay {
  private server: net.Server | null = null;
  /** The run is over: channels still open end with their command killed, quietly. */
  private closing = false;
  /** Called when a node is lost mid-run. */
  onLost: (host: PlannedHost, error: string) => void = () => undefined;

  constructor(
    private readonly client: ExecClient,
    private readonly plan: Plan,
    private readonly run: string,
    private readonly files: ShippedFile[],
    private readonly label: string,
    /** Resolves true once the checks passed: until then agents wait, and on false they are refused. */
    private readonly gate: Promise<boolean>,
  ) {}

  listen(socketPath: string): Promise<void> {
    this.server = net.createServer((sock) => this.serve(sock));
    return new Promise((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(socketPath, () => resolve());
    });
  }

  private serve(sock: net.Socket): void {
    let buf = '';
    let started = false;
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      if (started) return;
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 1024 * 1024) sock.destroy();
        return;
      }
      started = true;
      let req: { host?: unknown; argv?: unknown };
      try {
        req = JSON.parse(buf.slice(0, nl)) as { host?: unknown; argv?: unknown };
      } catch {
        sock.destroy();
        return;
      }
      const argv = Array.isArray(req.argv) ? req.argv.map(String) : [];
      void this.gate.then((ok) => {
        if (ok) this.start(sock, String(req.host), argv);
        else if (!sock.destroyed) sock.end(agentFrame(AgentFrame.exit, Buffer.from(JSON.stringify({ code: null, signal: null, error: 'the checks before the launch failed' }))));
      });
    });
  }

  private start(sock: net.Socket, host: string, argv: string[]): void {
    const exit = (e: { code: number | null; signal: string | null; error?: string }): void => {
      if (!sock.destroyed) sock.end(agentFrame(AgentFrame.exit, Buffer.from(JSON.stringify(e))));
    };
    const target = this.plan.hosts.find((h) => h.address === host || h.name === host);
    if (!target) return exit({ code: null, signal: null, error: `${host} is not a host of this run (hosts: ${this.plan.hosts.map((h) => h.address).join(', ')})` });
    // ssh's semantics: the words are joined by spaces and the remote shell reads them
    if (process.env['BRAMBLE_MPI_TRACE']) process.stderr.write(`bramble mpirun: agent for ${host} connected (${process.uptime().toFixed(2)} s since start)\n`);
    const ch = this.client.open({ node: target.node, run: this.run, cmd: argv.join(' '), files: this.files, label: this.label });
    ch.on('data', (fd, data, ack) => {
      if (sock.destroyed) return ack();
      sock.write(agentFrame(fd === 1 ? AgentFrame.stdout : AgentFrame.stderr, data), () => ack());
    });
    ch.on('exit', (e) => {
      if (e.lost) this.onLost(target, e.error ?? 'lost');
      // after mpirun itself ended, an agent it left behind just ends: its command was killed
      exit(this.closing && !e.lost ? { code: null, signal: 'SIGKILL' } : e);
    });
    sock.on('close', () => ch.kill());
  }

  close(): void {
    this.closing = true;
    this.server?.close();
  }
}

/**
 * `bramble mpirun`: picks slots on ready workers that allow commands, checks their MPI, writes the
 * hostfile, and runs the system's mpirun (Open MPI) or mpiexec.hydra (MPICH) with bramble as its
 * remote shell. Resolves with the exit status to exit with.
 */
export async function mpirun(o: MpirunOptions): Promise<number> {
  const say = o.say ?? ((line: string) => void process.stderr.write(`bramble mpirun: ${line}\n`));
  const t0 = performance.now();
  const trace = process.env['BRAMBLE_MPI_TRACE'] ? (what: string) => void process.stderr.write(`bramble mpirun: +${(performance.now() - t0).toFixed(0)} ms (${process.uptime().toFixed(2)} s since start) ${what}\n`) : () => undefined;
  if (o.command.length === 0) throw new InputError('command', 'the command to run is missing: bramble mpirun -n 4 -- python3 prime.py 100000');
  if (o.flavour !== undefined && o.flavour !== 'openmpi' && o.flavour !== 'mpich') throw new InputError('--mpi', `--mpi must be openmpi or mpich (got ${String(o.flavour)})`);
  if (o.net !== undefined && !/^\d+\.\d+\.\d+\.\d+\/\d{1,2}$/.test(o.net)) throw new InputError('--net', `--net must be a CIDR such as 10.0.0.0/24 (got ${o.net})`);
  const files = shipFiles(o);
  // the node list and the exec connection at once
  const [{ nodes }, client] = await Promise.all([getJson<{ nodes: NodeInfo[] }>(o.api, '/api/nodes'), Client.connect(o.api)]);
  trace('node list and exec connection');
  const cleanups: (() => void)[] = [];
  try {
    const plan = planRanks(nodes, { n: o.n, perNode: o.perNode, nodes: o.nodes });
    const python = pythonOf(o.command);
    const run = `mpi-${randomBytes(5).toString('hex')}`;
    const label = `mpirun -n ${o.n} ${o.command.map(shQuote).join(' ')}`.slice(0, 4000);
    const local = await localProbe(null);
    const flavour: MpiFlavour = o.flavour ?? (local.openmpi ? 'openmpi' : local.mpich ? 'mpich' : 'openmpi');
    // ---- checks on every node at once; mpirun starts meanwhile, but no agent's command leaves this
    // machine before they pass (the relay holds them), and a failed check kills mpirun before it ran anything
    const checks: Promise<string[]> =
      o.check === false
        ? Promise.resolve([])
        : Promise.all(
            plan.hosts.map(async (h) => {
              const r = await client.run({ node: h.node, run, cmd: probeScript(python), label });
              if (r.error) return { name: h.name, facts: null, error: r.error };
              return { name: h.name, facts: parseProbe(r.stdout, python !== null), error: null };
            }),
          ).then((remote) => {
            const broken = remote.filter((r) => r.error !== null).map((r) => `node ${r.name}: ${r.error ?? ''}`);
            const ok = remote.filter((r): r is { name: string; facts: MpiFacts; error: null } => r.facts !== null);
            return [...broken, ...checkFacts(flavour, local, ok, python)];
          });
    const gate = checks.then((p) => p.length === 0);
    trace('checks');
    trace('planned');
    const where = plan.hosts.map((h) => `${h.name} (${h.address}) ${rankList(h)}`).join(', ');
    say(`${o.n} rank(s) with ${flavour === 'openmpi' ? 'Open MPI' : 'MPICH'} on ${where}${files.length ? `; shipping ${files.map((f) => f.name).join(', ')}` : ''}`);
    for (const l of plan.leftOut) say(`left out ${l.name}: ${l.why}`);

    // ---- the launch ----
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'bramble-mpirun-'));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    cleanups.push(localRunDir(run, files));
    const hostfilePath = path.join(tmp, 'hostfile');
    writeFileSync(hostfilePath, hostfile(plan, flavour));
    const agentPath = path.join(tmp, 'bramble-agent');
    const agentMain = fileURLToPath(new URL('./agent-main.js', import.meta.url));
    writeFileSync(agentPath, `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(agentMain)} "$@"\n`, { mode: 0o755 });
    const socketPath = path.join(tmp, 'agent.sock');
    const relay = new AgentRelay(client, plan, run, files, label, gate);
    await relay.listen(socketPath);
    cleanups.push(() => relay.close());
    // the cluster network: the one that holds the nodes (a worker on this machine, at 127.0.0.1, says nothing)
    const netInfo = o.net ? { cidr: o.net, local: null } : (plan.hosts.map((h) => localNetworkOf(h.address)).find((x) => x !== null) ?? null);
    const cmd = launchCommand({ flavour, n: o.n, hostfilePath, agentPath, wdir: path.join(RUN_BASE, run), net: netInfo?.cidr ?? null, localAddress: netInfo?.local ?? null, command: o.command });
    trace('launching');
    const started = Date.now();
    const child = spawn(cmd.file, cmd.args, { stdio: ['inherit', 'pipe', 'pipe'], env: { ...process.env, ...cmd.env, [AGENT_SOCKET_ENV]: socketPath } });
    // every rank's output reaches us through mpirun: to our terminal, and a copy to the head's dashboard
    const mirror = (fd: 1 | 2, from: NodeJS.ReadableStream | null, to: NodeJS.WriteStream): void => {
      from?.on('data', (d: Buffer) => {
        if (!to.write(d)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
        client.report(run, { fd, data: d });
      });
    };
    mirror(1, child.stdout, process.stdout);
    mirror(2, child.stderr, process.stderr);
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.on('error', (error) => resolve({ code: null, signal: null, error }));
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    const problems = await checks;
    trace('checks');
    if (problems.length > 0) {
      child.kill('SIGKILL');
      await ended;
      throw new BrambleError('MPI_CHECK', `cannot launch:\n  ${problems.join('\n  ')}`);
    }
    let lost: { host: PlannedHost; error: string } | null = null;
    let interrupted: NodeJS.Signals | null = null;
    const stopTimers: NodeJS.Timeout[] = [];
    const stopChild = (graceMs: number): void => {
      stopTimers.push(setTimeout(() => child.kill('SIGTERM'), graceMs));
      stopTimers.push(setTimeout(() => child.kill('SIGKILL'), graceMs + 2000));
    };
    relay.onLost = (host, error) => {
      if (lost) return;
      lost = { host, error };
      say(`${error}; its ${rankList(host)} are gone: stopping the run`);
      stopChild(1500); // mpirun usually notices by itself; it gets a moment to say so
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      if (interrupted) return;
      interrupted = sig;
      say(`${sig}: stopping the run on every node`);
      child.kill(sig);
      stopTimers.push(setTimeout(() => child.kill('SIGKILL'), 3000));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const result = await ended;
    // the last of its output: its pipes end with it, unless an agent it left behind holds them
    const drained = (st: NodeJS.ReadableStream | null): Promise<unknown> => (st ? new Promise((r) => (st as NodeJS.ReadableStream & { readableEnded: boolean }).readableEnded ? r(null) : st.once('end', r)) : Promise.resolve());
    await Promise.race([Promise.all([drained(child.stdout), drained(child.stderr)]), new Promise((r) => setTimeout(r, 500).unref())]);
    trace(`${cmd.file} exited`);
    for (const t of stopTimers) clearTimeout(t);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (result.error) throw new BrambleError('MPI_LAUNCH', `cannot start ${cmd.file}: ${result.error.message} (install ${flavour === 'openmpi' ? 'openmpi-bin' : 'mpich'})`);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const status = result.code ?? 128 + (os.constants.signals[result.signal ?? 'SIGKILL'] ?? 9);
    client.report(run, { exit: interrupted ? 130 : status });
    if (interrupted) {
      say(`interrupted after ${secs} s`);
      return 130;
    }
    const gone = lost as { host: PlannedHost; error: string } | null;
    if (gone) {
      say(`failed after ${secs} s: ${gone.error} (${rankList(gone.host)})`);
      return status === 0 ? 1 : status;
    }
    if (status !== 0) say(`${cmd.file} exited with ${status} after ${secs} s`);
    return status;
  } finally {
    for (const c of cleanups.reverse()) c();
    client.close(); // the head kills whatever this run still has on any worker
    await Promise.race([client.closedPromise, new Promise((r) => setTimeout(r, 1000).unref())]);
    trace('closed');
  }
}
