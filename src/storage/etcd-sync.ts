import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { Compare, Op, RangeOptions, RangeResult, TxnResult } from './etcd-client.js';
import { EtcdError, parseRange, parseTxn, rangeBody, txnBody } from './etcd-client.js';
import { StorageError } from './errors.js';

/** The compiled thread module (tests that run the TypeScript sources use the build in dist/). */
function threadUrl(name: string): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL(`../../dist/storage/${name}.js`, here) : new URL(`./${name}.js`, here);
}

/**
 * Blocking etcd calls for the synchronous parts of the Journal interface (job records, reads): the
 * request runs on a helper thread (etcd-thread.ts) and this thread sleeps in Atomics.wait until it is
 * answered. A call blocks the event loop for one round trip (about a millisecond on a LAN, one etcd
 * fsync for a write); the hot path, commitChunksAsync, does not come through here.
 */
export class SyncEtcd {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new SharedArrayBuffer(4);
  private readonly signal = new Int32Array(this.flag);
  private seq = 0;
  private closed = false;

  constructor(
    endpoints: string[],
    private readonly requestTimeoutMs = 3000,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(threadUrl('etcd-thread'), { workerData: { endpoints, requestTimeoutMs, port: port2, flag: this.flag }, transferList: [port2] });
    this.worker.unref();
  }

  call(path: string, body: unknown): Record<string, unknown> {
    if (this.closed) throw new StorageError('etcd journal is closed');
    const id = ++this.seq;
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage({ id, path, body });
    // every member may be tried once, each up to its timeout
    const deadline = Date.now() + this.requestTimeoutMs * 4 + 1000;
    for (;;) {
      const got = receiveMessageOnPort(this.port) as { message: { id: number; json?: Record<string, unknown>; error?: string; grpcCode?: number | null } } | undefined;
      if (got) {
        const m = got.message;
        if (m.id !== id) continue; // the answer to a call that timed out earlier
        if (m.error !== undefined) throw m.grpcCode !== null && m.grpcCode !== undefined ? new EtcdError(m.error.replace(/^etcd: /, ''), m.grpcCode) : new StorageError(m.error);
        return m.json ?? {};
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new StorageError(`etcd call ${path} got no answer in time`);
      const seen = Atomics.load(this.signal, 0);
      if (seen !== id) Atomics.wait(this.signal, 0, seen, left);
    }
  }

  txn(compare: Compare[], success: Op[], failure: Op[] = []): TxnResult {
    return parseTxn(this.call('/v3/kv/txn', txnBody(compare, success, failure)));
  }

  range(key: Buffer | string, options: RangeOptions = {}): RangeResult {
    return parseRange(this.call('/v3/kv/range', rangeBody(key, options)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.postMessage({ close: true });
    this.port.close();
    void this.worker.terminate();
  }
}
