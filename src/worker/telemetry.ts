import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TelemetryFields } from '../protocol/index.js';

/** Non-internal IPv4/IPv6 addresses of this machine. */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.push(a.address);
  }
  return out.slice(0, 16);
}

/** Commands found missing (ENOENT): not spawned again (a spawn is ~15 ms of the event loop's CPU). */
const missing = new Set<string>();

/** Whether `cmd` is an executable file in a folder of PATH (asked before the first spawn). */
function onPath(cmd: string): boolean {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}

function run(cmd: string, args: string[]): Promise<string | null> {
  if (missing.has(cmd)) return Promise.resolve(null);
  if (!onPath(cmd)) {
    missing.add(cmd);
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 2000 }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') missing.add(cmd);
      resolve(err ? null : stdout);
    });
  });
}

/** CPU temperature in °C: /sys/class/thermal, then `vcgencmd measure_temp`; undefined when none. */
async function cpuTemperature(): Promise<number | undefined> {
  try {
    const zones = (await readdir('/sys/class/thermal')).filter((z) => z.startsWith('thermal_zone'));
    let best: number | undefined;
    for (const z of zones) {
      const type = (await readFile(`/sys/class/thermal/${z}/type`, 'utf8').catch(() => '')).trim();
      const raw = await readFile(`/sys/class/thermal/${z}/temp`, 'utf8').catch(() => null);
      if (raw === null) continue;
      const t = Number(raw.trim()) / 1000;
      if (!Number.isFinite(t) || t <= -100 || t > 200) continue;
      if (/cpu|soc|x86_pkg|coretemp/i.test(type)) return t;
      best ??= t;
    }
    if (best !== undefined) return best;
  } catch {
    /* no thermal zones */
  }
  const v = await run('vcgencmd', ['measure_temp']);
  const m = v && /temp=([\d.]+)/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** Raspberry Pi throttling flags (`vcgencmd get_throttled`), undefined elsewhere. */
async function throttled(): Promise<number | undefined> {
  const v = await run('vcgencmd', ['get_throttled']);
  const m = v && /throttled=(0x[0-9a-f]+)/i.exec(v);
  return m ? Number.parseInt(m[1] as string, 16) : undefined;
}

async function piModel(): Promise<string | undefined> {
  const m = await readFile('/proc/device-tree/model', 'utf8').catch(() => null);
  return m ? m.replace(/\0/g, '').trim().slice(0, 120) : undefined;
}

/** Samples CPU use between calls. */
export class TelemetrySampler {
  private last = os.cpus().map((c) => c.times);
  private model: string | undefined | null = null;
  /** Whether `vcgencmd get_throttled` answers here (asked once; a Pi, or a board with the same tool). */
  private hasThrottled: boolean | null = null;

  async sample(): Promise<TelemetryFields> {
    const now = os.cpus().map((c) => c.times);
    let busy = 0;
    let total = 0;
    now.forEach((t, i) => {
      const p = this.last[i];
      if (!p) return;
      const b = t.user + t.nice + t.sys + t.irq - (p.user + p.nice + p.sys + p.irq);
      busy += b;
      total += b + (t.idle - p.idle);
    });
    this.last = now;
    if (this.model === null) this.model = await piModel();
    const temp = await cpuTemperature();
    const thr = this.hasThrottled === false ? undefined : await throttled();
    this.hasThrottled ??= thr !== undefined;
    const out: TelemetryFields = {
      hostname: os.hostname(),
      os: `${os.type()} ${os.release()}`.slice(0, 120),
      arch: os.arch(),
      cores: os.cpus().length,
      cpu: total > 0 ? Math.min(100, Math.max(0, (100 * busy) / total)) : 0,
      load: os.loadavg(),
      memTotal: os.totalmem(),
      memFree: os.freemem(),
      uptime: os.uptime(),
    };
    if (this.model) out.model = this.model;
    if (temp !== undefined) out.temp = temp;
    if (thr !== undefined) out.throttled = thr;
    return out;
  }
}
