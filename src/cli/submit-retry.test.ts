import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { headUrls } from './api-client.js';
import { ApiError } from './api-client.js';
import { getThroughHeads, submitWithRetry } from './submit-retry.js';

const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A real HTTP server on loopback answering each POST with the next reply of the script. */
async function scripted(replies: (number | 'drop')[]): Promise<{ url: string; hits: { id: string }[] }> {
  const hits: { id: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const b = JSON.parse(body) as { id: string };
      hits.push(b);
      const r = replies.shift() ?? 201;
      if (r === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(r, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r >= 400 ? { error: { code: r === 409 ? 'ID_CONFLICT' : 'INTERNAL', message: `refused with ${r}` } } : { id: b.id, state: 'queued', chunks: { total: 1 }, existing: r === 200 }));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const opts = { token: 't', ca: null, timeoutMs: 10_000, backoffMs: 10, maxBackoffMs: 20 };

describe('submitWithRetry', () => {
  it('splits head URLs given as repeated flags and comma lists', () => {
    expect(headUrls(['https://a:7080/, https://b:7080', 'https://c:7080'])).toEqual(['https://a:7080', 'https://b:7080', 'https://c:7080']);
    expect(headUrls(undefined)).toEqual([]);
    expect(headUrls(' , ')).toEqual([]);
  });

  it('repeats the same id after a 5xx and after a dropped connection, then takes the answer', async () => {
    const head = await scripted([503, 'drop', 200]);
    const got = await submitWithRetry({ ...opts, urls: [head.url], body: { id: 'abc', task: 'noop' } });
    expect(got).toMatchObject({ tries: 3, uncertain: true, url: head.url, status: { id: 'abc', existing: true } });
    expect(head.hits.map((h) => h.id)).toEqual(['abc', 'abc', 'abc']);
  });

  it('goes on to the next head when one refuses connections; a refused connection leaves no doubt', async () => {
    const dead = await scripted([]);
    servers.pop()?.close();
    const live = await scripted([201]);
    const got = await submitWithRetry({ ...opts, urls: [dead.url, live.url], body: { id: 'x1', task: 'noop' } });
    expect(got).toMatchObject({ tries: 2, uncertain: false, url: live.url, status: { existing: false } });
  });

  it('stops at a 4xx: it is an answer, not a failure to retry', async () => {
    const head = await scripted([409]);
    const err = await submitWithRetry({ ...opts, urls: [head.url], body: { id: 'x2', task: 'noop' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'ID_CONFLICT' });
    expect(head.hits).toHaveLength(1);
  });

  it('gives up at the timeout, naming the job and saying it may have been accepted', async () => {
    const head = await scripted(Array(1000).fill(500) as number[]);
    await expect(submitWithRetry({ ...opts, timeoutMs: 300, urls: [head.url], body: { id: 'x3', task: 'noop' } })).rejects.toThrow(
      /^no head answered the submit of job x3 within 0.3 s \(last: refused with 500\); it may have been accepted: `bramble status x3`, or submit again with --id x3$/,
    );
  });

  it('follows through whichever head answers, the last one that did first', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ state: 'running' }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const live = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dead = await scripted([]);
    servers.pop()?.close();
    const lines: string[] = [];
    const get = getThroughHeads({ ...opts, urls: [dead.url, live], log: (l) => lines.push(l) });
    expect(await get<{ state: string }>('/api/jobs/a')).toEqual({ state: 'running' });
    expect(await get<{ state: string }>('/api/jobs/a/result')).toEqual({ state: 'running' });
    expect(seen).toEqual(['/api/jobs/a', '/api/jobs/a/result']);
    expect(lines).toHaveLength(1); // the dead head was tried once, then the live one went first
    expect(lines[0]).toMatch(/ECONNREFUSED.*trying again \(\/api\/jobs\/a\)$/);
  });
});
