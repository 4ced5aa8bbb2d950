// A light worker over real TLS, for benchmarks and load tests (test/faults.test.ts): it speaks the real
// protocol (pinned CA, challenge-response, window flow control) and answers every noop chunk at once,
// so hundreds run in one process to load a head. Runs on the build (dist/).
import { connectFramed } from '../dist/net/index.js';
import { PROTOCOL_VERSION } from '../dist/protocol/index.js';
import { authProof } from '../dist/trust/index.js';

export async function simWorker({ host, port, caHash, secret, name, slots = 4 }) {
  const link = await connectFramed({ host, port, caHash, connectTimeoutMs: 60_000 });
  const state = { done: 0, close: () => link.conn.destroy() };
  await new Promise((resolve, reject) => {
    link.conn.on('close', (err) => reject(err ?? new Error('closed')));
    link.conn.on('message', (m) => {
      if (m.type === 'challenge') {
        link.conn.send({ type: 'hello', version: PROTOCOL_VERSION, node: name, name, instance: 0, hostname: 'sim', addresses: [], slots, kernels: ['noop'], pid: process.pid, proof: authProof(secret, m.nonce, name, link.binding) });
      } else if (m.type === 'welcome') {
        link.conn.send({ type: 'want', n: slots }); // the window: one chunk per slot
        resolve();
      } else if (m.type === 'assign') {
        for (const c of m.chunks) {
          state.done++;
          link.conn.send({ type: 'result', token: c.token, job: c.job, index: c.index, summary: {} });
        }
      }
    });
  });
  return state;
}
