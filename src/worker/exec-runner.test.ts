import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { MessageOf } from '../protocol/index.js';
import { EXEC_WINDOW_BYTES } from '../protocol/index.js';
import { ExecRunner } from './exec-runner.js';

type Out = MessageOf<'exec-data'> | MessageOf<'exec-exit'>;
const base = mkdtempSync(path.join(os.tmpdir(), 'bramble-exec-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function runner(): { r: ExecRunner; got: Out[]; exit: Promise<MessageOf<'exec-exit'>> } {
  const got: Out[] = [];
  let done: (m: MessageOf<'exec-exit'>) => void = () => undefined;
  const exit = new Promise<MessageOf<'exec-exit'>>((res) => (done = res));
  const r = new ExecRunner({ node: 'n1', baseDir: base, log: pino({ level: 'silent' }), send: (m) => (got.push(m), m.type === 'exec-exit' ? done(m) : undefined) });
  return { r, got, exit };
}
const open = (ch: number, cmd: string, files: MessageOf<'exec-open'>['files'] = []): MessageOf<'exec-open'> => ({ type: 'exec-open', ch, run: `t${ch}`, cmd, files });
const bytes = (got: Out[]): number => got.reduce((n, m) => n + (m.type === 'exec-data' ? m.data.length : 0), 0);

describe('ExecRunner', () => {
  it('stops reading a command whose output is not acknowledged past the window, and finishes once it is', async () => {
    const { r, got, exit } = runner();
    r.open(open(1, 'yes 0123456789 | head -c 8000000'));
    await new Promise((res) => setTimeout(res, 1500));
    const held = bytes(got);
    expect(held).toBeGreaterThanOrEqual(EXEC_WINDOW_BYTES);
    expect(held).toBeLessThan(EXEC_WINDOW_BYTES + 256 * 1024);
    let acked = 0;
    while (!got.some((m) => m.type === 'exec-exit')) {
      const now = bytes(got);
      if (now > acked) r.ack(1, now - acked);
      acked = now;
      await new Promise((res) => setTimeout(res, 5));
    }
    expect((await exit).code).toBe(0);
    expect(bytes(got)).toBe(8_000_000);
  }, 30_000);

  it('runs sh -c in the run directory with the shipped files, and refuses a file whose hash is not its content', async () => {
    const data = Buffer.from('print(6 * 7)\n');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const a = runner();
    a.r.open(open(2, 'cat a.py; pwd; echo oops >&2; exit 4', [{ name: 'a.py', sha256, data }]));
    const e = await a.exit;
    expect(e.code).toBe(4);
    const text = (fd: 1 | 2): string => Buffer.concat(a.got.flatMap((m) => (m.type === 'exec-data' && m.fd === fd ? [m.data] : []))).toString();
    expect(text(1)).toBe(`print(6 * 7)\n${path.join(base, 't2')}\n`);
    expect(text(2)).toBe('oops\n');
    const b = runner();
    b.r.open(open(3, 'true', [{ name: 'a.py', sha256: 'f'.repeat(64), data }]));
    expect((await b.exit).error).toMatch(/^cannot prepare the run directory: file a\.py: its content hashes to/);
  });

  it('kills every process of the command, those in other process groups too', async () => {
    const { r, exit } = runner();
    r.open(open(4, '(sleep 61 &) ; sh -c "set -m; sleep 62 & wait" & sleep 63; wait'));
    await new Promise((res) => setTimeout(res, 500));
    const alive = (): string[] => spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter((l) => /^sleep 6[123]$/.test(l.trim()));
    expect(alive().length).toBe(3);
    r.kill(4);
    const e = await exit;
    expect(e.signal).toBe('SIGKILL');
    await new Promise((res) => setTimeout(res, 300));
    expect(alive()).toEqual([]);
  }, 20_000);
});
