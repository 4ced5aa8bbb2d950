import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { EtcdClient, EtcdError } from './etcd-client.js';

/**
 * The synchronous side of EtcdJournal: the `Journal` interface is synchronous (the ledger calls it
 * inline), so its calls are made here, on a thread with an event loop of its own, while the caller waits
 * on a shared flag (Atomics.wait) and then takes the answer off the port with receiveMessageOnPort.
 */
const { endpoints, requestTimeoutMs, port, flag } = workerData as { endpoints: string[]; requestTimeoutMs: number; port: MessagePort; flag: SharedArrayBuffer };
const client = new EtcdClient({ endpoints, requestTimeoutMs });
const signal = new Int32Array(flag);

port.on('message', (m: { id: number; path: string; body: unknown } | { close: true }) => {
  if ('close' in m) {
    client.close();
    port.close();
    return;
  }
  const done = (answer: Record<string, unknown>): void => {
    port.postMessage({ id: m.id, ...answer });
    Atomics.store(signal, 0, m.id);
    Atomics.notify(signal, 0);
  };
  client.call(m.path, m.body).then(
    (json) => done({ json }),
    (err: Error) => done({ error: err.message, grpcCode: err instanceof EtcdError ? err.grpcCode : null }),
  );
});
