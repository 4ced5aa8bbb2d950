import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KnownHosts, fingerprint, hostKeyAlgorithms, keyTypeOf, knownHostName, patternsMatch } from './known-hosts.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
}

const A = blob('ssh-ed25519', 'key-a');
const B = blob('ssh-ed25519', 'key-b');
const R = blob('ssh-rsa', 'key-r');
const line = (names: string, k: Buffer): string => `${names} ${keyTypeOf(k)} ${k.toString('base64')}`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-kh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(lines: string[]): string {
  const f = path.join(dir, `kh-${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

describe('known_hosts', () => {
  it('names a host as ssh does: bare on port 22, [host]:port otherwise', () => {
    expect(knownHostName('10.0.0.2', 22)).toBe('10.0.0.2');
    expect(knownHostName('10.0.0.2', 2222)).toBe('[10.0.0.2]:2222');
  });

  it('matches comma lists, wildcards and negations', () => {
    expect(patternsMatch('pi-01,10.0.0.2', '10.0.0.2')).toBe(true);
    expect(patternsMatch('10.0.0.*', '10.0.0.17')).toBe(true);
    expect(patternsMatch('10.0.0.?', '10.0.0.17')).toBe(false);
    expect(patternsMatch('10.0.0.*,!10.0.0.9', '10.0.0.9')).toBe(false);
    expect(patternsMatch('[10.0.0.2]:2222', '10.0.0.2')).toBe(false);
  });

  it('knows a recorded key, calls a different one changed, and a missing host unknown', () => {
    const kh = new KnownHosts(file(['# comment', line('10.0.0.2', A), line('[10.0.0.3]:2222', A), '@cert-authority *.lab ' + `${keyTypeOf(B)} ${B.toString('base64')}`]));
    expect(kh.check('10.0.0.2', 22, A)).toEqual({ status: 'known', line: 2 });
    expect(kh.check('10.0.0.2', 22, B)).toEqual({ status: 'changed', lines: [2], expected: [`ssh-ed25519 ${fingerprint(A)}`] });
    expect(kh.check('10.0.0.3', 22, A)).toEqual({ status: 'unknown' });
    expect(kh.check('10.0.0.3', 2222, A)).toMatchObject({ status: 'known' });
    expect(kh.check('x.lab', 22, B)).toEqual({ status: 'unknown' }); // host certificates are not taken
    expect(kh.typesFor('10.0.0.2', 22)).toEqual(['ssh-ed25519']);
  });

  it('refuses a @revoked key even when it is also recorded', () => {
    const kh = new KnownHosts(file([line('10.0.0.2', A), `@revoked * ${keyTypeOf(A)} ${A.toString('base64')}`]));
    expect(kh.check('10.0.0.2', 22, A)).toEqual({ status: 'revoked', line: 2 });
  });

  it('records a new key (trust on first use) and knows it afterwards', () => {
    const f = path.join(dir, 'sub', 'known_hosts');
    const kh = new KnownHosts(f);
    kh.add('10.0.0.9', 2200, R);
    expect(readFileSync(f, 'utf8')).toBe(`[10.0.0.9]:2200 ssh-rsa ${R.toString('base64')}\n`);
    expect(new KnownHosts(f).check('10.0.0.9', 2200, R)).toMatchObject({ status: 'known' });
    expect(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519'])).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
  });

  let keygen = true;
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
  } catch (err) {
    keygen = (err as { status?: number }).status !== undefined && (err as { code?: string }).code !== 'ENOENT';
  }
  it.skipIf(!keygen)('reads names hashed by `ssh-keygen -H` (HashKnownHosts)', () => {
    const real = (n: string): Buffer => {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, n)], { stdio: 'ignore' });
      return Buffer.from(readFileSync(path.join(dir, `${n}.pub`), 'utf8').split(' ')[1] as string, 'base64');
    };
    const [A, B] = [real('a'), real('b')];
    const f = file([line('10.0.0.2', A), line('[10.0.0.3]:2222', B)]);
    execFileSync('ssh-keygen', ['-H', '-f', f], { stdio: 'ignore' });
    const text = readFileSync(f, 'utf8');
    expect(text).not.toContain('10.0.0.2');
    const kh = new KnownHosts(f);
    expect(kh.check('10.0.0.2', 22, A)).toMatchObject({ status: 'known' });
    expect(kh.check('10.0.0.3', 2222, B)).toMatchObject({ status: 'known' });
    expect(kh.check('10.0.0.3', 2222, A)).toMatchObject({ status: 'changed' });
    expect(kh.check('10.0.0.4', 22, A)).toEqual({ status: 'unknown' });
  });
});
