import type { FramedConnection } from '../net/index.js';
import type { Message, MessageOf } from '../protocol/index.js';
import { ErrorCode, ProtocolError } from '../protocol/index.js';
import type { HeadEvents } from './head-events.js';
import type { NodeRegistry } from './nodes.js';

export interface ExecRelayOptions {
  nodes: NodeRegistry;
  events: HeadEvents;
  /** Sends to a connected native worker; false when it is not connected. */
  sendToWorker: (node: string, msg: Message) => boolean;
  now: () => number;
}

/** Most channels one client may hold open at once (an MPI run opens one per node, plus its checks). */
const MAX_CHANNELS_PER_CLIENT = 4096;
/** Finished runs kept for the API. */
const KEEP_RUNS = 50;

interface Route {
  client: Client;
  clientCh: number;
  node: string;
  workerCh: number;
  run: string;
}

interface Client {
  conn: FramedConnection;
  channels: Map<number, Route>;
  runs: Set<string>;
}

/** A run as the API shows it: what ran where, since when, and how each command ended. */
export interface ExecRunView {
  id: string;
  label: string | null;
  state: 'running' | 'ended';
  startedAt: number;
  endedAt: number | null;
  elapsedMs: number;
  nodes: { node: string; name: string; running: number; exits: (number | string)[] }[];
  output: { node: string; fd: 1 | 2; text: string }[];
  /** The launcher's exit status (`bramble mpirun` reports it), null while running or unknown. */
  exit: number | null;
}

interface Run {
  id: string;
  label: string | null;
  startedAt: number;
  endedAt: number | null;
  clients: number;
  nodes: Map<string, { running: number; exits: (number | string)[] }>;
  /** The last lines of output (bounded), for the API and the dashboard. */
  tail: { node: string; fd: 1 | 2; text: string }[];
  tailBytes: number;
  /** The client reports the launcher's output: the tail shows that, not the channels' (checks, daemons). */
  reported: boolean;
  exit: number | null;
}

const TAIL_BYTES = 16 * 1024;

/**
 * Relays remote commands between clients (`bramble agent`, `bramble mpirun`, over an upgraded HTTPS
 * connection authenticated by the admin token) and workers that allow them (over their own TLS
 * connection). Each client channel maps to one worker channel; output and acks pass through, so
 * the worker's window bounds what the head holds. A client that goes away kills its commands; a
 * worker that goes away ends its channels at once with `lost`, naming the node.
 */
export class ExecRelay {
  private readonly byWorker = new Map<string, Map<number, Route>>();
  private readonly clients = new Set<Client>();
  private readonly runs = new Map<string, Run>();
  private nextCh = 1;

  constructor(private readonly o: ExecRelayOptions) {}

  attach(conn: FramedConnection): void {
    const client: Client = { conn, channels: new Map(), runs: new Set() };
    this.clients.add(client);
    conn.on('message', (msg) => {
      try {
        this.fromClient(client, msg);
      } catch (err) {
        conn.fail(err);
      }
    });
    conn.on('close', () => {
      this.clients.delete(client);
      for (const r of client.channels.values()) {
        this.o.sendToWorker(r.node, { type: 'exec-kill', ch: r.workerCh });
        this.drop(r, 'client gone');
      }
      for (const id of client.runs) {
        const run = this.runs.get(id);
        if (run && --run.clients <= 0) this.endRun(run);
      }
    });
  }

  private name(node: string): string {
    return this.o.nodes.get(node)?.name ?? node;
  }

  private fromClient(client: Client, msg: Message): void {
    switch (msg.type) {
      case 'exec-open': {
        const fail = (error: string): void => void client.conn.send({ type: 'exec-exit', ch: msg.ch, code: null, signal: null, error });
        if (client.channels.has(msg.ch)) return fail(`channel ${msg.ch} is already open`);
        if (client.channels.size >= MAX_CHANNELS_PER_CLIENT) return fail(`at most ${MAX_CHANNELS_PER_CLIENT} channels at once`);
        const node = msg.node ? this.o.nodes.get(msg.node) : undefined;
        if (!msg.node || !node) return fail(`no node ${JSON.stringify(msg.node ?? '')}`);
        if (!node.connected) return fail(`node ${node.name} is not connected`);
        if (!node.allowExec) return fail(`node ${node.name} does not run commands (its worker was started without --allow-exec)`);
        const route: Route = { client, clientCh: msg.ch, node: node.id, workerCh: this.nextCh++, run: msg.run };
        if (this.nextCh >= 2 ** 31) this.nextCh = 1;
        const { node: _n, label: _l, ...rest } = msg;
        if (!this.o.sendToWorker(node.id, { ...rest, ch: route.workerCh })) return fail(`node ${node.name} is not connected`);
        client.channels.set(msg.ch, route);
        let byNode = this.byWorker.get(node.id);
        if (!byNode) this.byWorker.set(node.id, (byNode = new Map()));
        byNode.set(route.workerCh, route);
        this.track(client, msg, node.id);
        return;
      }
      case 'exec-report': {
        const run = this.runs.get(msg.run);
        if (!run || !client.runs.has(msg.run)) return;
        if (!run.reported) {
          run.reported = true;
          run.tail = [];
          run.tailBytes = 0;
        }
        if (msg.data && msg.fd) this.keepTail(run, 'mpirun', msg.fd, msg.data, false);
        if (msg.exit !== undefined) run.exit = msg.exit;
        return;
      }
      case 'exec-ack':
      case 'exec-kill': {
        const r = client.channels.get(msg.ch);
        if (r) this.o.sendToWorker(r.node, { ...msg, ch: r.workerCh });
        return;
      }
      default:
        throw new ProtocolError(ErrorCode.Unexpected, `unexpected ${msg.type} message on an exec connection`);
    }
  }

  /** exec-data and exec-exit from a worker: on to the client that opened the channel. */
  fromWorker(node: string, msg: MessageOf<'exec-data'> | MessageOf<'exec-exit'>): void {
    const r = this.byWorker.get(node)?.get(msg.ch);
    if (!r) {
      // the client left: stop what is still talking
      if (msg.type === 'exec-data') this.o.sendToWorker(node, { type: 'exec-kill', ch: msg.ch });
      return;
    }
    r.client.conn.send({ ...msg, ch: r.clientCh });
    const run = this.runs.get(r.run);
    if (msg.type === 'exec-data') {
      if (run && !run.reported) this.keepTail(run, node, msg.fd, msg.data, true);
      return;
    }
    const entry = run?.nodes.get(node);
    if (entry) entry.exits.push(msg.code ?? msg.signal ?? msg.error ?? '?');
    this.drop(r, null);
  }

  /** A worker's connection ended: its channels end now, `lost`, with the node named. */
  workerGone(node: string, why: string | undefined): void {
    const routes = this.byWorker.get(node);
    if (!routes) return;
    const name = this.name(node);
    const addr = this.o.nodes.get(node)?.remote ?? '';
    for (const r of [...routes.values()]) {
      r.client.conn.send({ type: 'exec-exit', ch: r.clientCh, code: null, signal: null, lost: true, error: `node ${name}${addr ? ` (${addr})` : ''} was lost${why ? `: ${why}` : ''}` });
      this.runs.get(r.run)?.nodes.get(node)?.exits.push('lost');
      this.drop(r, null);
    }
    this.byWorker.delete(node);
  }

  private drop(r: Route, _why: string | null): void {
    r.client.channels.delete(r.clientCh);
    const byNode = this.byWorker.get(r.node);
    byNode?.delete(r.workerCh);
    if (byNode?.size === 0) this.byWorker.delete(r.node);
    const entry = this.runs.get(r.run)?.nodes.get(r.node);
    if (entry) entry.running = Math.max(0, entry.running - 1);
  }

  private track(client: Client, msg: MessageOf<'exec-open'>, node: string): void {
    let run = this.runs.get(msg.run);
    if (!run || run.endedAt !== null) {
      run = { id: msg.run, label: msg.label ?? null, startedAt: this.o.now(), endedAt: null, clients: 0, nodes: new Map(), tail: [], tailBytes: 0, reported: false, exit: null };
      this.runs.set(msg.run, run);
      this.o.events.event('info', 'exec', `run ${msg.run} started${msg.label ? `: ${msg.label}` : ''}`);
      while (this.runs.size > KEEP_RUNS) {
        const oldest = [...this.runs.values()].find((x) => x.endedAt !== null);
        if (!oldest) break;
        this.runs.delete(oldest.id);
      }
    }
    if (msg.label && !run.label) run.label = msg.label;
    if (!client.runs.has(msg.run)) {
      client.runs.add(msg.run);
      run.clients++;
    }
    const entry = run.nodes.get(node) ?? { running: 0, exits: [] };
    entry.running++;
    run.nodes.set(node, entry);
  }

  private endRun(run: Run): void {
    run.endedAt = this.o.now();
    const lost = [...run.nodes.entries()].filter(([, e]) => e.exits.includes('lost')).map(([n]) => this.name(n));
    this.o.events.event(lost.length || (run.exit !== null && run.exit !== 0) ? 'warn' : 'info', 'exec', `run ${run.id} ended${run.exit !== null ? ` with exit status ${run.exit}` : ''} after ${((run.endedAt - run.startedAt) / 1000).toFixed(1)} s on ${[...run.nodes.keys()].map((n) => this.name(n)).join(', ') || 'no node'}${lost.length ? `; lost ${lost.join(', ')}` : ''}`);
  }

  private keepTail(run: Run, node: string, fd: 1 | 2, data: Uint8Array, isNode: boolean): void {
    const text = Buffer.from(data.subarray(Math.max(0, data.length - TAIL_BYTES))).toString('utf8');
    run.tail.push({ node: isNode ? this.name(node) : node, fd, text });
    run.tailBytes += text.length;
    while (run.tailBytes > TAIL_BYTES && run.tail.length > 1) run.tailBytes -= (run.tail.shift() as { text: string }).text.length;
  }

  /** Runs, newest first: the API's and the dashboard's view. */
  list(): ExecRunView[] {
    const now = this.o.now();
    return [...this.runs.values()].reverse().map((r) => ({
      id: r.id,
      label: r.label,
      state: r.endedAt === null ? 'running' : 'ended',
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      elapsedMs: (r.endedAt ?? now) - r.startedAt,
      nodes: [...r.nodes.entries()].map(([node, e]) => ({ node, name: this.name(node), running: e.running, exits: e.exits })),
      output: r.tail,
      exit: r.exit,
    }));
  }

  /** Commands running now on a node (its tile shows it busy). */
  runningOn(node: string): number {
    return this.byWorker.get(node)?.size ?? 0;
  }
}
