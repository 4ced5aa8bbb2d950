import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ServiceError } from './errors.js';
import { LiveTable } from './live-table.js';
import { SUPERVISOR_SCRIPT, chooseMode, systemdUnit } from './service.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-svc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const waitFor = async (what: string, fn: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('service', () => {
  it('chooses systemd only where systemd runs and we are root', () => {
    expect(chooseMode('auto', { systemd: true, root: true })).toBe('systemd');
    expect(chooseMode('auto', { systemd: true, root: false })).toBe('supervised');
    expect(chooseMode('auto', { systemd: false, root: true })).toBe('supervised');
    expect(() => chooseMode('systemd', { systemd: true, root: false })).toThrow(ServiceError);
    expect(() => chooseMode('systemd', { systemd: false, root: true })).toThrow(/systemd is not running on this machine/);
  });

  it('writes a unit template with %i kept, paths quoted and a drain-long stop timeout', () => {
    const unit = systemdUnit({ description: 'bramble worker instance %i', argv: ['/usr/bin/node', '/home/pi/my dir/bin/bramble.js', 'worker', '--instance', '%i', '--name', 'pi 01-%i'], uid: 1000, gid: 1000, workingDirectory: '/home/pi/.bramble-worker' });
    expect(unit).toContain('ExecStart=/usr/bin/node "/home/pi/my dir/bin/bramble.js" worker --instance %i --name "pi 01-"%i\n');
    expect(unit).toContain('User=1000\nGroup=1000\n');
    expect(unit).toContain('Restart=always\n');
    expect(unit).toContain('TimeoutStopSec=40\n');
    expect(unit).toContain('WantedBy=multi-user.target\n');
  });

  it('the supervisor restarts a process that exits, with backoff, and stops it on SIGTERM', async () => {
    const script = path.join(dir, 'supervise.sh');
    writeFileSync(script, SUPERVISOR_SCRIPT, { mode: 0o755 });
    const pidFile = path.join(dir, 'crash.pid');
    const log = path.join(dir, 'crash.log');
    let out = '';
    const sup = spawn('/bin/sh', [script, pidFile, '/bin/sh', '-c', `echo run >> ${log}; exit 3`], { stdio: ['ignore', 'pipe', 'pipe'] });
    sup.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('two runs', () => existsSync(log) && readFileSync(log, 'utf8') === 'run\nrun\n', 8000);
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(sup.pid));
    // the second exit is logged just after the second run wrote its line
    await waitFor('the second restart message', () => /starting it again in 2s\n/.test(out), 8000);
    expect(out).toMatch(/bramble supervisor: process exited with status 3; starting it again in 1s\n.*starting it again in 2s\n/);
    sup.kill('SIGTERM');
    await waitFor('the supervisor to exit', () => sup.exitCode !== null);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('the supervisor passes SIGTERM to the running process and waits for it', async () => {
    const script = path.join(dir, 'supervise.sh');
    writeFileSync(script, SUPERVISOR_SCRIPT, { mode: 0o755 });
    const marker = path.join(dir, 'term');
    const sup = spawn('/bin/sh', [script, path.join(dir, 'long.pid'), '/bin/sh', '-c', `trap 'sleep 0.3; echo drained > ${marker}; exit 0' TERM; while :; do sleep 0.1; done`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    sup.kill('SIGTERM');
    await waitFor('the supervisor to exit', () => sup.exitCode !== null);
    expect(readFileSync(marker, 'utf8')).toBe('drained\n'); // the child finished before the supervisor left
  });
});

describe('live table', () => {
  it('shows running hosts and the latest finished ones when they do not fit', () => {
    const t = new LiveTable({ write: () => true }, 'deploy', false);
    for (let i = 1; i <= 8; i++) t.add(`10.0.0.${i}`);
    for (let i = 1; i <= 6; i++) t.update(`10.0.0.${i}`, 'done', '2 instances joined', 'ok');
    t.update('10.0.0.7', 'upload', 'copied 4.2 MB', 'running');
    t.update('10.0.0.8', 'connect', 'FAILED: connection refused', 'failed');
    const lines = t.lines(7, 80);
    expect(lines[0]).toBe('deploy: 6 done, 1 failed, 1 running, 0 waiting');
    expect(lines.slice(2)).toEqual([
      '10.0.0.5  done     2 instances joined',
      '10.0.0.6  done     2 instances joined',
      '10.0.0.7  upload   copied 4.2 MB',
      '10.0.0.8  connect  FAILED: connection refused',
    ]);
  });

  it('prints one line per change when not on a terminal', () => {
    let out = '';
    const t = new LiveTable({ write: (s: string) => (out += s) }, 'deploy', false);
    t.update('pi-01', 'check', 'node v20.11.1 linux-arm64');
    t.update('pi-01', 'check', 'node v20.11.1 linux-arm64');
    t.update('pi-01', 'done', '3 instances joined', 'ok');
    expect(out).toBe('pi-01  check  node v20.11.1 linux-arm64\npi-01  done  3 instances joined\n');
  });
});
