import { connectFramed } from '../../src/net/index.js';
import type { FramedConnection } from '../../src/net/index.js';
import type { Message } from '../../src/protocol/index.js';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { authProof } from '../../src/trust/index.js';

export interface SimOptions {
  host: string;
  port: number;
  caHash: string;
  secret: string;
  name: string;
  slots?: number;
  /** Summary returned for each chunk (noop: {}). */
  summary?: (chunk: { index: number; start: string }) => Record<string, unknown>;
  onMessage?: (m: Message) => void;
}

/**
 * A light worker speaking the real protocol over real TLS: it answers every chunk at once with a
 * fixed summary. Hundreds run in one process to load a head.
 */
export async function simWorker(o: SimOptions): Promise<{ conn: FramedConnection; done: number; close(): void }> {
  const link = await connectFramed({ host: o.host, port: o.port, caHash: o.caHash, connectTimeoutMs: 60_000 });
  const state = { conn: link.conn, done: 0, close: () => link.conn.destroy() };
  const slots = o.slots ?? 4;
  await new Promise<void>((resolve, reject) => {
    link.conn.on('close', (err) => reject(err ?? new Error('closed')));
    link.conn.on('message', (m) => {
      o.onMessage?.(m);
      if (m.type === 'challenge') {
        link.conn.send({
          type: 'hello', version: PROTOCOL_VERSION, node: o.name, name: o.name, instance: 0, hostname: 'sim', addresses: [],
          slots, kernels: ['noop'], pid: process.pid, proof: authProof(o.secret, m.nonce, o.name, link.binding),
        });
      } else if (m.type === 'welcome') {
        link.conn.send({ type: 'want', n: slots });
        resolve();
      } else if (m.type === 'assign') {
        for (const c of m.chunks) {
          state.done++;
          link.conn.send({ type: 'result', token: c.token, job: c.job, index: c.index, summary: o.summary ? o.summary(c) : {} });
        }
      }
    });
  });
  return state;
}
