import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { BrambleError } from '../core/index.js';
import { FILES, readHeadState } from '../trust/index.js';

/** What deploy needs of a node listed by the head. */
export interface HeadNode {
  id: string;
  name: string;
  instance: number;
  hostname: string;
  state: string;
  pid?: number;
}

/** The running head of a data dir on this machine: its API (to watch workers join) and worker port. */
export class HeadApi {
  private constructor(
    readonly url: string,
    readonly workerPort: number,
    readonly insecure: boolean,
    private readonly token: string,
    private readonly ca: string,
  ) {}

  static fromDataDir(dir: string): HeadApi {
    const s = readHeadState(dir);
    if (!s || typeof s.url !== 'string' || typeof s.workerPort !== 'number') throw new BrambleError('NO_HEAD', `no head is running for ${dir} (no head.json): start it first (\`bramble head --data ${dir}\`); deploy waits for each worker to join it`);
    const token = readFileSync(path.join(dir, FILES.adminToken), 'utf8').trim();
    const ca = readFileSync(path.join(dir, FILES.caCert), 'utf8');
    return new HeadApi(s.url, s.workerPort, s.insecure === true, token, ca);
  }

  private get<T>(route: string, timeoutMs = 5000): Promise<T> {
    const u = new URL(this.url + route);
    const mod = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(u, { method: 'GET', ca: this.ca, checkServerIdentity: () => undefined, headers: { authorization: `Bearer ${this.token}` }, timeout: timeoutMs }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          if ((res.statusCode ?? 0) >= 300) return reject(new BrambleError('HEAD_API', `head API ${route}: HTTP ${res.statusCode ?? 0} ${text.slice(0, 200)}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch (err) {
            reject(err as Error);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(new BrambleError('HEAD_API', `head API at ${this.url} does not answer: ${err.message} (is \`bramble head\` running?)`, { cause: err })));
      req.end();
    });
  }

  async nodes(): Promise<HeadNode[]> {
    return (await this.get<{ nodes: HeadNode[] }>('/api/nodes')).nodes;
  }

  async node(id: string): Promise<HeadNode> {
    return this.get<HeadNode>(`/api/nodes/${encodeURIComponent(id)}`);
  }
}

interface Waiter {
  name: string;
  pid: number | null;
  since: number;
  resolve: (n: HeadNode) => void;
}

/**
 * Watches the head's node list for many hosts at once (one request per poll, not one per host) and
 * resolves each waiter when a ready node has its name and, when known, its pid.
 */
export class JoinWatcher {
  private readonly waiters = new Set<Waiter>();
  private readonly pidOf = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  lastError: string | null = null;

  constructor(
    private readonly api: HeadApi,
    private readonly everyMs = 400,
  ) {}

  /** Resolves with the node, or null after `timeoutMs`. */
  wait(name: string, pid: number | null, timeoutMs: number): Promise<HeadNode | null> {
    return new Promise((resolve) => {
      const w: Waiter = {
        name,
        pid,
        since: Date.now(),
        resolve: (n) => {
          clearTimeout(t);
          this.waiters.delete(w);
          resolve(n);
        },
      };
      const t = setTimeout(() => {
        this.waiters.delete(w);
        resolve(null);
      }, timeoutMs);
      this.waiters.add(w);
      this.kick();
    });
  }

  private kick(): void {
    if (this.timer || this.polling) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poll().catch((err: unknown) => (this.lastError = (err as Error).message));
    }, 0);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      while (this.waiters.size > 0) {
        try {
          const nodes = (await this.api.nodes()).filter((n) => n.state === 'ready');
          this.lastError = null;
          for (const w of [...this.waiters]) {
            for (const n of nodes.filter((x) => x.name === w.name)) {
              if (w.pid !== null) {
                let pid = this.pidOf.get(n.id);
                if (pid === undefined) {
                  pid = (await this.api.node(n.id)).pid ?? -1;
                  this.pidOf.set(n.id, pid);
                }
                if (pid !== w.pid) continue;
              }
              w.resolve(n);
              break;
            }
          }
        } catch (err) {
          this.lastError = (err as Error).message;
        }
        if (this.waiters.size > 0) await new Promise((r) => setTimeout(r, this.everyMs));
      }
    } finally {
      this.polling = false;
    }
  }
}
