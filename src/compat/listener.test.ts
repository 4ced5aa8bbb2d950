import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { AllowList } from './allow-list.js';
import { CompatListener, readLengthPrefixed } from './listener.js';

describe('CompatListener per-address cap (issue 17, item 20)', () => {
  it('one address holds at most maxPerAddress connections; another address still gets in', async () => {
    const held: net.Socket[] = [];
    const refusals: string[] = [];
    const l = new CompatListener(
      { flag: '--compat-primes', host: '127.0.0.1', port: 0, allow: new AllowList(['127.0.0.0/8']), maxConnections: 100, maxPerAddress: 3, onRefused: (_r, why) => void refusals.push(why) },
      (s) => void held.push(s),
    );
    const port = await l.listen();
    const connect = (from: string): Promise<net.Socket> =>
      new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
        s.on('error', () => undefined);
        s.once('connect', () => resolve(s));
      });
    const flood = await Promise.all(Array.from({ length: 5 }, () => connect('127.0.0.2')));
    await new Promise((r) => setTimeout(r, 200));
    expect(held).toHaveLength(3);
    expect(l.stats.refusedPerAddress).toBe(2);
    expect(refusals).toEqual(['too many from this address', 'too many from this address']);
    const other = await connect('127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    expect(held).toHaveLength(4);
    // a closed connection frees its place
    flood.forEach((s) => s.destroy());
    await new Promise((r) => setTimeout(r, 200));
    const again = await connect('127.0.0.2');
    await new Promise((r) => setTimeout(r, 100));
    expect(held).toHaveLength(5);
    other.destroy();
    again.destroy();
    await l.close();
  });
});

describe('readLengthPrefixed with a rate limit (issue 17, item 20)', () => {
  it('pauses the socket while a message waits for its turn: every message arrives, in order, none lost, also after the sender closed', async () => {
    const got: string[] = [];
    let asked = 0;
    let waits = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const l = new CompatListener(
      { flag: '--compat-primes', host: '127.0.0.1', port: 0, allow: new AllowList(['127.0.0.0/8']), maxConnections: 10, onRefused: () => undefined },
      (s, _remote, hold) =>
        readLengthPrefixed(s, {
          hold,
          maxBytes: 64,
          idleMs: 5000,
          messageMs: 5000,
          // every third message waits 5 ms (a token bucket's answer)
          admit: () => {
            if (++asked % 3 === 0) {
              waits++;
              return 5;
            }
            return 0;
          },
          onMessage(body) {
            got.push(body.toString());
            if (got.length === 300) done();
            return true;
          },
          onBad: (reason) => {
            throw new Error(reason);
          },
        }),
    );
    const port = await l.listen();
    // the seed's senders write and close at once: what was sent before the close must still be taken
    const s = net.connect({ host: '127.0.0.1', port });
    const want = Array.from({ length: 300 }, (_, i) => String(i * 7919));
    s.end(Buffer.concat(want.map((v) => Buffer.concat([Buffer.from([0, 0, 0, v.length]), Buffer.from(v)]))));
    await finished;
    expect(got).toEqual(want);
    expect(waits).toBeGreaterThanOrEqual(100);
    s.destroy();
    await l.close();
  });
});
