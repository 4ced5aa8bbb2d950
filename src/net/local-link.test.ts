import { describe, expect, it } from 'vitest';
import type { Message } from '../protocol/index.js';
import { decodeMessage, encodeMessage } from '../protocol/index.js';
import type { LinkEnd } from './local-link.js';
import { localLinkPair } from './local-link.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function record(end: LinkEnd) {
  const got: Message[] = [];
  const closed: (Error | undefined)[] = [];
  end.conn.on('message', (m) => got.push(m));
  end.conn.on('close', (e) => closed.push(e));
  return { got, closed };
}

describe('LocalLink (the in-process link of bramble run)', () => {
  it('delivers in order, never inside send, the messages of one turn together', async () => {
    const { head, worker } = localLinkPair(new Uint8Array(32));
    const w = record(worker);
    head.conn.send({ type: 'ack', tokens: ['a'] });
    head.conn.send({ type: 'ack', tokens: ['b'] });
    expect(w.got).toHaveLength(0);
    head.conn.send({ type: 'code', hash: 'a'.repeat(64), offset: 0, total: 3, bytes: new Uint8Array(3), signature: '' });
    expect(head.conn.bufferedBytes).toBe(3);
    await tick();
    expect(w.got.map((m) => (m.type === 'ack' ? m.tokens[0] : m.type))).toEqual(['a', 'b', 'code']);
    expect(head.conn.bufferedBytes).toBe(0);
    expect(head.binding).toBe(worker.binding);
  });

  it('fail sends the error before closing both ends; the peer closes with what it was told', async () => {
    const { head, worker } = localLinkPair(new Uint8Array(32));
    const h = record(head);
    const w = record(worker);
    head.conn.send({ type: 'ack', tokens: ['last'] });
    head.conn.fail(new Error('bad hello'));
    expect(head.conn.isOpen).toBe(false);
    expect(head.conn.send({ type: 'drain' })).toBe(false);
    await tick();
    await tick();
    expect(w.got.map((m) => m.type)).toEqual(['ack', 'error']);
    expect(w.closed).toHaveLength(1);
    expect(String(w.closed[0])).toMatch(/peer said: bad hello/);
    expect(h.closed).toHaveLength(1);
    expect(worker.conn.isOpen).toBe(false);
  });

  it('destroy drops what is queued and closes both ends once', async () => {
    const { head, worker } = localLinkPair(new Uint8Array(32));
    const h = record(head);
    const w = record(worker);
    worker.conn.send({ type: 'drain' });
    worker.conn.destroy();
    worker.conn.destroy();
    await tick();
    await tick();
    expect(h.got).toHaveLength(0);
    expect(h.closed).toEqual([undefined]);
    expect(w.closed).toEqual([undefined]);
  });

  it('with a check, a message the wire would refuse fails the link', async () => {
    const wire = (m: Message): Message => decodeMessage(encodeMessage(m).subarray(4));
    const { head, worker } = localLinkPair(new Uint8Array(32), wire);
    const h = record(head);
    worker.conn.send({ type: 'want', n: 5 });
    worker.conn.send({ type: 'want', n: 5000 }); // over MAX_WINDOW
    await tick();
    await tick();
    expect(h.got.map((m) => m.type)).toEqual(['want', 'error']);
    expect(String(h.closed[0])).toMatch(/invalid want message: n/);
  });
});
