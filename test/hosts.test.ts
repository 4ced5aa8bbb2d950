import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/index.js';
import { MAX_HOSTS, excludeHosts, expandBraces, expandCidr, expandHostPattern, formatHostEntry, parseHostEntry, parseHostFile, toTargets } from '../src/deploy/host-list.js';
import { failedHostsFile } from '../src/deploy/deployer.js';
import { run } from './helpers/procs.js';

const hosts = (p: string): string[] => expandHostPattern(p).map(formatHostEntry);

describe('host patterns', () => {
  it("expands seed 004's lab, '192.168.{4..67}.{1..3}', into 192 addresses in its order", () => {
    const list = hosts('192.168.{4..67}.{1..3}');
    expect(list).toHaveLength(64 * 3);
    expect(list.slice(0, 4)).toEqual(['192.168.4.1', '192.168.4.2', '192.168.4.3', '192.168.5.1']);
    expect(list.at(-1)).toBe('192.168.67.3');
  });

  it('expands lists, nested groups, zero-padded ranges, steps and descending ranges like bash', () => {
    expect(expandBraces('pi-{a,b{1,2}}')).toEqual(['pi-a', 'pi-b1', 'pi-b2']);
    expect(expandBraces('pi-{01..03}')).toEqual(['pi-01', 'pi-02', 'pi-03']);
    expect(expandBraces('n{8..12}')).toEqual(['n8', 'n9', 'n10', 'n11', 'n12']);
    expect(expandBraces('n{1..9..4}')).toEqual(['n1', 'n5', 'n9']);
    expect(expandBraces('n{3..1}')).toEqual(['n3', 'n2', 'n1']);
    expect(expandBraces('x{001..100}').at(-1)).toBe('x100');
  });

  it('expands IPv4 CIDR blocks to their usable addresses', () => {
    expect(expandCidr('10.0.0.0/29')).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(expandCidr('10.0.0.7/32')).toEqual(['10.0.0.7']);
    expect(expandCidr('10.0.0.6/31')).toEqual(['10.0.0.6', '10.0.0.7']);
    expect(expandCidr('10.0.0.5/30')).toEqual(['10.0.0.5', '10.0.0.6']); // the block holding .5
    expect(hosts('pi@10.1.{0,1}.0/30:2222')).toEqual(['pi@10.1.0.1:2222', 'pi@10.1.0.2:2222', 'pi@10.1.1.1:2222', 'pi@10.1.1.2:2222']);
  });

  it('parses user@host:port, IPv6 and names', () => {
    expect(parseHostEntry('pi@10.0.0.2:2222')).toEqual([{ user: 'pi', host: '10.0.0.2', port: 2222 }]);
    expect(parseHostEntry('Pi-07.Local')).toEqual([{ host: 'pi-07.local' }]);
    expect(parseHostEntry('[fe80::1]:22')).toEqual([{ host: 'fe80::1', port: 22 }]);
    expect(parseHostEntry('admin@::1')).toEqual([{ user: 'admin', host: '::1' }]);
    expect(formatHostEntry({ user: 'u', host: '::1', port: 2200 })).toBe('u@[::1]:2200');
  });

  it('refuses mistakes with a message naming the pattern', () => {
    const bad: [string, RegExp][] = [
      ['10.0.0.1:99999', /"10.0.0.1:99999": port must be 1-65535 \(got 99999\)/],
      ['10.0.0.1:', /missing port/],
      ['pi-{1..3', /"\{" without "\}"/],
      ['pi-{x}', /\{x\} is neither a list \{a,b\} nor a range \{1\.\.9\}/],
      ['bad host', /"bad host" is not a host name or address/],
      ['10.0.0.0/8', /"10.0.0.0\/8" has 16777214 addresses: at most 65536/],
      ['x{1..100000}', /expands to more than 65536 hosts/],
      ['a;rm -rf /@h', /is not a user name/],
    ];
    for (const [p, msg] of bad) expect(() => expandHostPattern(p), p).toThrow(msg);
    expect(() => expandHostPattern('{1..300}.{1..300}')).toThrow(InputError);
    expect(MAX_HOSTS).toBe(65536);
  });

  it('reads host files: comments, blank lines, several per line, file:line in errors', () => {
    const text = '# the lab\n\n192.168.4.{1..2}   # rack 1\npi@pi-01 pi@pi-02:2222\n  \n10.0.0.0/30\n';
    expect(parseHostFile(text, 'pi_list.txt').map(formatHostEntry)).toEqual(['192.168.4.1', '192.168.4.2', 'pi@pi-01', 'pi@pi-02:2222', '10.0.0.1', '10.0.0.2']);
    expect(() => parseHostFile('ok\n\nnope:0\n', 'pi_list.txt')).toThrow(/^pi_list\.txt:3: "nope:0": port must be 1-65535/);
  });

  it('excludes by host, and by user and port when the exclusion names them', () => {
    const list = parseHostFile('a b pi@c c:2222');
    expect(excludeHosts(list, expandHostPattern('b')).map(formatHostEntry)).toEqual(['a', 'pi@c', 'c:2222']);
    expect(excludeHosts(list, expandHostPattern('c')).map(formatHostEntry)).toEqual(['a', 'b']);
    expect(excludeHosts(list, expandHostPattern('c:2222')).map(formatHostEntry)).toEqual(['a', 'b', 'pi@c']);
  });

  it('merges a host listed three times into one target listed 3 times (seed 004: 3 instances)', () => {
    const t = toTargets(parseHostFile('10.0.0.2\n10.0.0.2\n10.0.0.3\n10.0.0.2\npi@10.0.0.2:22\n'), { user: 'pi', port: 22 });
    expect(t).toEqual([
      { user: 'pi', host: '10.0.0.2', port: 22, entry: '10.0.0.2', listed: 4 },
      { user: 'pi', host: '10.0.0.3', port: 22, entry: '10.0.0.3', listed: 1 },
    ]);
  });

  it('writes a failed-hosts file that reads back as a host list of the failed hosts', () => {
    const text = failedHostsFile(
      [
        { host: 'pi@10.0.0.2', entry: 'pi@10.0.0.2', ok: true, step: 'done', attempts: 1, instances: [], notes: [] },
        { host: '10.0.0.3:2222', entry: '10.0.0.3:2222', ok: false, step: 'connect', failure: 'connect', reason: 'connection refused # really\nsecond line', attempts: 3, instances: [], notes: [] },
        { host: '[::1]:22', entry: '[::1]:22', ok: false, step: 'check', failure: 'node', reason: 'Node.js v18.19.0 is too old', attempts: 1, instances: [], notes: [] },
      ],
      'deploy',
      'failed-hosts.txt',
    );
    expect(text).toMatch(/^# bramble deploy \S+: 2 of 3 hosts failed\n# retry them with: bramble deploy --hosts failed-hosts.txt\n/);
    expect(text).toContain('10.0.0.3:2222  # connect: connection refused # really second line\n');
    expect(parseHostFile(text).map(formatHostEntry)).toEqual(['10.0.0.3:2222', '[::1]:22']);
  });
});

describe('bramble hosts', () => {
  it('prints one host per line, and --count', async () => {
    const r = await run(['hosts', '192.168.{4..5}.{1..2}', '--exclude', '192.168.5.1']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('192.168.4.1\n192.168.4.2\n192.168.5.2\n');
    const c = await run(['hosts', '10.0.0.0/24', '--count']);
    expect(c.out).toBe('254\n');
  });

  it('exits 2 with one line naming the bad pattern', async () => {
    const r = await run(['hosts', 'pi-{1..3']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('error: "pi-{1..3": "{" without "}"\n');
  });
});
