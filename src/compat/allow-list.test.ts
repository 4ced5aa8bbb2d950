import { describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import { AllowList } from './allow-list.js';

describe('AllowList', () => {
  it('allows only loopback by default, IPv4-mapped addresses included', () => {
    const a = new AllowList();
    expect(a.allows('127.0.0.1')).toBe(true);
    expect(a.allows('::ffff:127.0.0.1')).toBe(true);
    expect(a.allows('::1')).toBe(true);
    expect(a.allows('192.168.4.1')).toBe(false);
    expect(a.loopbackOnly).toBe(true);
  });

  it('takes CIDRs and single addresses', () => {
    const a = new AllowList(['192.168.4.0/22', '10.0.0.7', 'fd00::/8']);
    expect(a.allows('192.168.7.255')).toBe(true);
    expect(a.allows('192.168.8.1')).toBe(false);
    expect(a.allows('10.0.0.7')).toBe(true);
    expect(a.allows('10.0.0.8')).toBe(false);
    expect(a.allows('fd12::1')).toBe(true);
    expect(a.allows(undefined)).toBe(false);
    expect(a.any).toBe(false);
    expect(new AllowList(['0.0.0.0/0']).any).toBe(true);
  });

  it('rejects a malformed network, naming the flag', () => {
    for (const bad of ['192.168.4.0/33', 'pi-head', '10.0.0.0/8/1', '300.1.1.1']) {
      expect(() => new AllowList([bad])).toThrow(InputError);
      expect(() => new AllowList([bad])).toThrow(/^--compat-allow must be a comma-separated list of networks/);
    }
    expect(() => new AllowList([])).toThrow(/--compat-allow needs at least one network/);
  });
});

describe('AllowList lan', () => {
  it('expands lan to the networks of this machine (network addresses, not host addresses)', () => {
    const a = new AllowList(['lan']);
    for (const e of a.entries.filter((x) => x.includes('.'))) {
      const [addr = '', bits = '32'] = e.split('/');
      const last = Number(addr.split('.')[3]);
      if (Number(bits) <= 24) expect(last).toBe(0);
    }
  });
});
