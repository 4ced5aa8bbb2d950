import net from 'node:net';
import os from 'node:os';
import { InputError } from '../core/index.js';

/** What the compat listeners accept when --compat-allow is not given: this machine only. */
export const DEFAULT_ALLOW: readonly string[] = ['127.0.0.0/8', '::1/128'];

/** `::ffff:192.168.4.1` -> `192.168.4.1`; other addresses unchanged. */
export function plainAddress(addr: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(addr);
  return m ? (m[1] as string) : addr;
}

interface Subnet {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseOne(text: string, field: string): Subnet {
  const [addr = '', bits, ...rest] = text.split('/');
  const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : null;
  const max = family === 'ipv4' ? 32 : 128;
  if (family === null || rest.length > 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits)) || Number(bits ?? max) > max) {
    throw new InputError(field, `${field} must be a comma-separated list of networks like 192.168.4.0/22, 10.0.0.7 or fd00::/8, or the word lan (got ${JSON.stringify(text)})`);
  }
  return { address: addr, prefix: bits === undefined ? max : Number(bits), family };
}

/** `192.168.4.7`, 22 -> `192.168.4.0` (for display: the BlockList masks by itself). */
function ipv4Network(addr: string, prefix: number): string {
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix);
  const net = Number((BigInt(n) & BigInt(mask)).toString());
  return [24, 16, 8, 0].map((sh) => Math.floor(net / 2 ** sh) % 256).join('.');
}

/** The networks of this machine's own interfaces (what `lan` means). */
function lanSubnets(): Subnet[] {
  const out: Subnet[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || !a.cidr) continue;
      const [addr = '', bits = ''] = a.cidr.split('/');
      if (a.family === 'IPv6' && addr.toLowerCase().startsWith('fe80:')) continue; // link-local: scope ids do not survive a CIDR
      const prefix = Number(bits);
      out.push(a.family === 'IPv4' ? { address: ipv4Network(addr, prefix), prefix, family: 'ipv4' } : { address: addr, prefix, family: 'ipv6' });
    }
  }
  return out;
}

/**
 * The networks allowed to talk to a compat listener (these formats carry no authentication).
 * Entries: CIDRs (`192.168.4.0/22`), single addresses (`10.0.0.7`), or `lan` (the subnets of this
 * machine's interfaces). Built on node's `net.BlockList`.
 */
export class AllowList {
  private readonly list = new net.BlockList();
  /** The entries as given, with `lan` expanded. */
  readonly entries: string[];
  readonly any: boolean;

  constructor(entries: readonly string[] = DEFAULT_ALLOW, field = '--compat-allow') {
    if (entries.length === 0) throw new InputError(field, `${field} needs at least one network (the default is ${DEFAULT_ALLOW.join(',')})`);
    const subnets: Subnet[] = [];
    for (const raw of entries) {
      const e = raw.trim();
      if (e.toLowerCase() === 'lan') subnets.push(...lanSubnets());
      else subnets.push(parseOne(e, field));
    }
    for (const s of subnets) this.list.addSubnet(s.address, s.prefix, s.family);
    this.entries = subnets.map((s) => `${s.address}/${s.prefix}`);
    this.any = subnets.some((s) => s.prefix === 0);
  }

  allows(address: string | undefined): boolean {
    if (!address) return false;
    const a = plainAddress(address);
    if (net.isIPv4(a)) return this.list.check(a, 'ipv4');
    if (net.isIPv6(a)) return this.list.check(a, 'ipv6');
    return false;
  }

  /** True when only this machine may connect. */
  get loopbackOnly(): boolean {
    return this.entries.every((e) => e.startsWith('127.') || e === '::1/128');
  }

  toString(): string {
    return this.entries.join(', ');
  }
}
