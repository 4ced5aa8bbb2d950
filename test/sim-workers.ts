import type { ClientConnection } from '../src/net/index.js';
import { connectFramed } from '../src/net/index.js';
import type { Message } from '../src/protocol/index.js';
import { PROTOCOL_VERSION } from '../src/protocol/index.js';
import { authProof } from '../src/trust/index.js';

/**
 * Light simulated workers that speak the real protocol (TLS, pinned CA, challenge-response, then
 * telemetry), so a test can put a 240-Pi lab on one machine. They compute nothing: with `workMs`
 * they take `noop` chunks and answer each after about that long, and refuse any other task.
 */
export interface SimOptions {
  host: string;
  port: number;
  caHash: string | null;
  secret: string | null;
  count: number;
  slots?: number;
  /** Base temperature of worker i in °C, or null for a machine without a sensor (default: a lab-like spread). */
  temperature?: (i: number) => number | null;
  /** Each report varies the temperature by up to this much either way (default 0.3 °C). */
  jitter?: number;
  /** Take noop chunks, each "computed" in about this many ms; 0 (default) asks for no work. */
  workMs?: number;
  /** Handshakes in flight at once (default 16). */
  concurrency?: number;
}

export interface SimWorker {
  index: number;
  node: string;
  name: string;
  address: string;
  baseTemp: number | null;
  lastTemp: number | null;
  link: ClientConnection;
}

export interface SimCluster {
  workers: SimWorker[];
  stats: { telemetry: number; results: number; assigned: number };
  close(): Promise<void>;
}

/** mulberry32: a small deterministic generator, so every run shows the same lab. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seed 004's lab: 80 desks of 3 Pis, most warm, a few hot, a few idle and cool, some without a sensor. */
export function labTemperature(i: number): number | null {
  if (i % 53 === 52) return null;
  const r = rng(i * 7919 + 1)();
  const base = 53 + 11 * Math.sin(i / 11) + 14 * (r - 0.5);
  const hot = i % 29 === 7 ? 17 : 0;
  const cool = i % 31 === 3 ? -14 : 0;
  return Math.round((base + hot + cool) * 10) / 10;
}

export function labName(i: number): { name: string; address: string } {
  const desk = Math.floor(i / 3) + 1;
  const pi = (i % 3) + 1;
  return { name: `desk${desk}-pi${pi}`, address: `192.168.${3 + desk}.${pi}` };
}

export async function startSimWorkers(o: SimOptions): Promise<SimCluster> {
  const slots = o.slots ?? 4;
  const jitter = o.jitter ?? 0.3;
  const workMs = o.workMs ?? 0;
  const temperature = o.temperature ?? labTemperature;
  const stats = { telemetry: 0, results: 0, assigned: 0 };
  const workers: SimWorker[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const started = Date.now();

  async function one(i: number): Promise<SimWorker> {
    const { name, address } = labName(i);
    const node = `sim-${process.pid}-${i}`;
    const link = await connectFramed({ host: o.host, port: o.port, caHash: o.caHash });
    const random = rng(i + 101);
    const w: SimWorker = { index: i, node, name, address, baseTemp: temperature(i), lastTemp: null, link };
    const running = new Map<string, NodeJS.Timeout>();
    let chunksDone = 0;
    let lastWant = -1;
    const telemetry = (): Record<string, unknown> => {
      const busy = running.size;
      const t: Record<string, unknown> = {
        hostname: name,
        os: 'Linux 6.6.31+rpt-rpi-v8',
        arch: 'arm64',
        model: 'Raspberry Pi 4 Model B Rev 1.5',
        cores: 4,
        cpu: Math.min(100, Math.round((8 + (88 * busy) / slots + random() * 4) * 10) / 10),
        load: [busy + random() * 0.3, busy * 0.9 + 0.1, busy * 0.7 + 0.1],
        memTotal: 4_000_000_000,
        memFree: 2_600_000_000 + Math.round(random() * 4e8),
        throttled: 0,
        chunksDone,
        rate: busy > 0 ? Math.round(busy * 2.4e6 * (0.85 + random() * 0.3)) : 0,
        busy,
        uptime: Math.round((Date.now() - started) / 1000) + 3600,
      };
      if (w.baseTemp !== null) {
        w.lastTemp = Math.round((w.baseTemp + jitter * (random() * 2 - 1)) * 10) / 10;
        t['temp'] = w.lastTemp;
      }
      return t;
    };
    const want = (): void => {
      if (workMs <= 0) return;
      const n = slots + 1; // the window: its slots and one more
      if (n === lastWant) return;
      lastWant = n;
      link.conn.send({ type: 'want', n });
    };
    await new Promise<void>((resolve, reject) => {
      let welcomed = false;
      link.conn.on('close', (err) => {
        for (const t of running.values()) clearTimeout(t);
        running.clear();
        if (!welcomed) reject(err ?? new Error(`simulated worker ${i} was closed before welcome`));
      });
      link.conn.on('message', (msg: Message) => {
        switch (msg.type) {
          case 'challenge':
            link.conn.send({
              ...telemetry(),
              type: 'hello',
              version: PROTOCOL_VERSION,
              node,
              name,
              instance: i % 3,
              hostname: name,
              addresses: [address],
              slots,
              kernels: ['noop'],
              pid: process.pid,
              version_text: 'sim',
              ...(o.secret ? { proof: authProof(o.secret, msg.nonce, node, link.binding) } : {}),
            } as Message);
            break;
          case 'welcome': {
            welcomed = true;
            // spread the reports over the period, as real workers started at different times are
            const first = setTimeout(() => {
              timers.delete(first);
              const tick = setInterval(() => {
                stats.telemetry++;
                link.conn.send({ type: 'telemetry', ...telemetry() } as Message);
              }, msg.telemetryMs);
              timers.add(tick);
            }, Math.floor(random() * msg.telemetryMs));
            timers.add(first);
            const hb = setInterval(() => {
              if (running.size > 0) link.conn.send({ type: 'heartbeat', tokens: [...running.keys()] });
            }, msg.heartbeatMs);
            timers.add(hb);
            want();
            resolve();
            break;
          }
          case 'assign':
            for (const c of msg.chunks) {
              stats.assigned++;
              if (c.task !== 'noop') {
                link.conn.send({ type: 'fail', token: c.token, job: c.job, index: c.index, error: 'a simulated worker runs only noop chunks' });
                continue;
              }
              const t = setTimeout(() => {
                running.delete(c.token);
                chunksDone++;
                stats.results++;
                link.conn.send({ type: 'result', token: c.token, job: c.job, index: c.index, summary: {}, output: null });
                want();
              }, workMs * (0.5 + random()));
              running.set(c.token, t);
            }
            want();
            break;
          case 'cancel':
            for (const tok of msg.tokens) {
              const t = running.get(tok);
              if (t) clearTimeout(t);
              running.delete(tok);
            }
            want();
            break;
          default:
            break;
        }
      });
    });
    return w;
  }

  const concurrency = o.concurrency ?? 16;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, o.count) }, async () => {
      while (next < o.count) {
        const i = next++;
        workers[i] = await one(i);
      }
    }),
  );
  return {
    workers,
    stats,
    async close() {
      for (const t of timers) {
        clearTimeout(t);
        clearInterval(t);
      }
      timers.clear();
      for (const w of workers) w.link.conn.destroy();
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export async function cpuSeconds(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

