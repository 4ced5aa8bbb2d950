import { describe, expect, it } from 'vitest';
import { splitHostPort } from './address.js';

describe('splitHostPort', () => {
  it('takes names, IPv4 and bracketed IPv6 with a port', () => {
    expect(splitHostPort('pi-head.local:7070', '--head')).toEqual({ host: 'pi-head.local', port: 7070 });
    expect(splitHostPort('10.0.0.1:1', '--head')).toEqual({ host: '10.0.0.1', port: 1 });
    expect(splitHostPort('[fe80::1]:65535', '--head')).toEqual({ host: 'fe80::1', port: 65535 });
  });

  it('names the flag for anything else (deploy took port 99999 until it met the workers)', () => {
    for (const bad of ['pi-head', 'pi-head:', 'pi-head:99999', 'pi-head:0', ':7070', 'fe80::1:7070', 'a b:1', '[fe80::1]']) {
      expect(() => splitHostPort(bad, '--head'), bad).toThrow(`--head must be HOST:PORT (got ${JSON.stringify(bad)})`);
    }
  });
});
