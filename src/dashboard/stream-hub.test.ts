import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { HeadEvent } from '../head/index.js';
import type { StreamSink, StreamSource } from './stream-hub.js';
import { StreamHub } from './stream-hub.js';

/** A source whose changes the test makes by hand. */
class FakeSource implements StreamSource {
  private change: ((what: 'jobs' | 'nodes', id: string) => void) | null = null;
  private ev: ((e: HeadEvent) => void) | null = null;
  version = 0;
  extra: { nodes: string[]; jobs: string[] } = { nodes: [], jobs: [] };
  onChange(l: (what: 'jobs' | 'nodes', id: string) => void): () => void {
    this.change = l;
    return () => (this.change = null);
  }
  onEvent(l: (e: HeadEvent) => void): () => void {
    this.ev = l;
    return () => (this.ev = null);
  }
  node(id: string): void {
    this.version++;
    this.change?.('nodes', id);
  }
  job(id: string): void {
    this.change?.('jobs', id);
  }
  event(msg: string): void {
    this.ev?.({ t: 0, level: 'info', kind: 'test', msg });
  }
  snapshot(): object {
    return { version: this.version };
  }
  nodes(ids: Iterable<string>): object[] {
    return [...ids].map((id) => ({ id, version: this.version }));
  }
  jobs(ids: Iterable<string>): object[] {
    return [...ids].map((id) => ({ id }));
  }
  changedWithoutEvent(): { nodes: string[]; jobs: string[] } {
    const e = this.extra;
    this.extra = { nodes: [], jobs: [] };
    return e;
  }
}

/** A response whose socket buffer the test fills and drains. */
class FakeSink extends EventEmitter implements StreamSink {
  chunks: string[] = [];
  full = false;
  ended = false;
  destroyed = false;
  /** Bytes written while full (what a response would hold for a peer that does not read). */
  writableLength = 0;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    if (this.full) this.writableLength += chunk.length;
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  messages(): { event: string; data: Record<string, unknown> }[] {
    return this.chunks
      .filter((c) => c.startsWith('event: '))
      .map((c) => {
        const [ev, data] = c.split('\n');
        return { event: (ev as string).slice(7), data: JSON.parse((data as string).slice(6)) as Record<string, unknown> };
      });
  }
}

const hubs: StreamHub[] = [];
function hub(source: FakeSource, o = {}): StreamHub {
  const h = new StreamHub(source, { intervalMs: 60_000, ...o });
  hubs.push(h);
  return h;
}
afterEach(() => {
  for (const h of hubs.splice(0)) h.close();
});

describe('StreamHub', () => {
  it('drops a client that stays full for slowMs, telling it to resync; the others keep their stream', () => {
    const src = new FakeSource();
    const h = hub(src, { slowMs: 0 });
    const slow = new FakeSink();
    const fast = new FakeSink();
    h.add(slow);
    h.add(fast);
    slow.full = true;
    src.node('a');
    h.flush(); // does not fit: congested from now
    src.node('a');
    h.flush(); // still full after slowMs: dropped
    expect(slow.chunks.at(-1)).toBe('event: resync\ndata: {"reason":"slow"}\n\n');
    expect(slow.ended).toBe(true);
    expect(h.clientCount).toBe(1);
    expect(h.stats.dropped).toBe(1);
    expect(fast.messages().filter((m) => m.event === 'delta')).toHaveLength(2);
  });

  it('destroys at once a client with more than maxBufferedBytes waiting', () => {
    const src = new FakeSource();
    const h = hub(src, { maxBufferedBytes: 100 });
    const sink = new FakeSink();
    sink.full = true;
    h.add(sink); // the snapshot alone fits
    expect(sink.destroyed).toBe(false);
    src.event('x'.repeat(200));
    sink.emit('drain'); // a drain event that did not empty the buffer: the next write is over the bound
    src.node('a');
    h.flush();
    expect(sink.destroyed).toBe(true);
    expect(h.clientCount).toBe(0);
  });

  it('starts every stream with a snapshot, then sends one coalesced delta per flush', () => {
    const src = new FakeSource();
    const h = hub(src);
    const sink = new FakeSink();
    expect(h.add(sink)).toBe(true);
    expect(sink.messages().map((m) => m.event)).toEqual(['snapshot']);
    for (let i = 0; i < 100; i++) src.node(i % 2 === 0 ? 'a' : 'b');
    src.job('j1');
    src.job('j1');
    src.event('one');
    src.event('two');
    h.flush();
    const [, delta] = sink.messages();
    expect(delta?.event).toBe('delta');
    expect(delta?.data['nodes']).toEqual([
      { id: 'a', version: 100 },
      { id: 'b', version: 100 },
    ]);
    expect(delta?.data['jobs']).toEqual([{ id: 'j1' }]);
    expect((delta?.data['events'] as { msg: string }[]).map((e) => e.msg)).toEqual(['one', 'two']);
    h.flush();
    expect(sink.messages()).toHaveLength(2); // nothing changed: nothing sent
  });

  it('includes what changed without an event (busy slots, running jobs)', () => {
    const src = new FakeSource();
    const h = hub(src);
    const sink = new FakeSink();
    h.add(sink);
    src.extra = { nodes: ['n7'], jobs: ['j2'] };
    h.flush();
    expect(sink.messages()[1]?.data).toMatchObject({ nodes: [{ id: 'n7' }], jobs: [{ id: 'j2' }] });
  });

  it('drops deltas for a client whose socket is full, and sends it one fresh snapshot when it drains', () => {
    const src = new FakeSource();
    const h = hub(src);
    const slow = new FakeSink();
    const fast = new FakeSink();
    h.add(slow);
    h.add(fast);
    slow.full = true;
    src.node('a');
    h.flush(); // this write does not fit: the slow client is now congested
    const before = slow.chunks.length;
    for (let i = 0; i < 50; i++) {
      src.node('a');
      h.flush();
    }
    expect(slow.chunks.length).toBe(before); // nothing more was written to it
    expect(h.stats.deltasDropped).toBe(50);
    expect(h.congestedCount).toBe(1);
    expect(fast.messages().filter((m) => m.event === 'delta')).toHaveLength(51);

    slow.full = false;
    slow.emit('drain');
    const last = slow.messages().at(-1);
    expect(last).toEqual({ event: 'snapshot', data: { version: 51 } });
    expect(h.congestedCount).toBe(0);
    src.node('a');
    h.flush();
    expect(slow.messages().at(-1)?.event).toBe('delta');
  });

  it('sends no snapshot on a drain when nothing was missed', () => {
    const src = new FakeSource();
    const h = hub(src);
    const sink = new FakeSink();
    sink.full = true;
    h.add(sink); // the first snapshot filled the buffer
    sink.full = false;
    sink.emit('drain');
    expect(sink.messages().map((m) => m.event)).toEqual(['snapshot']);
  });

  it('caps the events of one delta and counts the rest', () => {
    const src = new FakeSource();
    const h = hub(src, { maxEventsPerDelta: 3 });
    const sink = new FakeSink();
    h.add(sink);
    for (let i = 0; i < 10; i++) src.event(`e${i}`);
    h.flush();
    const d = sink.messages()[1]?.data as { events: unknown[]; eventsSkipped: number };
    expect(d.events).toHaveLength(3);
    expect(d.eventsSkipped).toBe(7);
  });

  it('refuses streams over maxClients, forgets closed ones, and ends all on close', () => {
    const src = new FakeSource();
    const h = hub(src, { maxClients: 2 });
    const a = new FakeSink();
    const b = new FakeSink();
    expect(h.add(a)).toBe(true);
    expect(h.add(b)).toBe(true);
    expect(h.add(new FakeSink())).toBe(false);
    expect(h.stats.refused).toBe(1);
    a.emit('close');
    expect(h.clientCount).toBe(1);
    h.close();
    expect(b.ended).toBe(true);
    expect(h.clientCount).toBe(0);
    expect(h.add(new FakeSink())).toBe(false);
  });

  it('collects nothing while no client listens', () => {
    const src = new FakeSource();
    const h = hub(src);
    src.node('a');
    src.event('lost');
    const sink = new FakeSink();
    h.add(sink);
    h.flush();
    expect(sink.messages().map((m) => m.event)).toEqual(['snapshot']);
  });
});
