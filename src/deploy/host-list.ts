import net from 'node:net';
import { InputError } from '../core/index.js';

/**
 * Host lists: what `bramble hosts` prints and `bramble deploy --hosts FILE` reads.
 *
 * A pattern is `[user@]host[:port]` where host is a name, an IPv4 or IPv6 address (`[::1]:2222` with a
 * port), or an IPv4 CIDR block (`10.0.0.0/29`: its usable addresses). Brace groups expand as in bash:
 * lists `{a,b}`, ranges `{4..67}`, zero-padded `{01..40}`, steps `{1..9..2}`, nested, several per
 * pattern (a cartesian product, left to right). Host files hold patterns separated by white space or
 * new lines; `#` starts a comment.
 */
export interface HostEntry {
  user?: string;
  host: string;
  port?: number;
}

/** Expansions beyond this are refused: a typo like `{1..100000}.x` should not make a million lines. */
export const MAX_HOSTS = 65_536;

function tooMany(what: string): never {
  throw new InputError('hosts', `${what} expands to more than ${MAX_HOSTS} hosts`);
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(body.slice(from));
  return parts;
}

function rangeItems(m: RegExpExecArray, pattern: string): string[] {
  const [, a = '', b = '', s] = m;
  const from = Number(a);
  const to = Number(b);
  const step = s === undefined ? 1 : Math.abs(Number(s));
  if (step === 0) throw new InputError('hosts', `"${pattern}": a range step must not be 0`);
  const count = Math.floor(Math.abs(to - from) / step) + 1;
  if (count > MAX_HOSTS) tooMany(`"${pattern}"`);
  const padded = /^-?0\d/.test(a) || /^-?0\d/.test(b);
  const width = padded ? Math.max(a.replace('-', '').length, b.replace('-', '').length) : 0;
  const dir = to >= from ? 1 : -1;
  const out: string[] = [];
  for (let i = 0, v = from; i < count; i++, v += dir * step) out.push(width ? (v < 0 ? '-' : '') + String(Math.abs(v)).padStart(width, '0') : String(v));
  return out;
}

/** Expands the brace groups of one pattern (bash rules: lists, ranges, padding, nesting). */
export function expandBraces(pattern: string, limit = MAX_HOSTS): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) {
    if (pattern.includes('}')) throw new InputError('hosts', `"${pattern}": "}" without "{"`);
    return [pattern];
  }
  const close = matchingBrace(pattern, open);
  if (close < 0) throw new InputError('hosts', `"${pattern}": "{" without "}"`);
  const pre = pattern.slice(0, open);
  const body = pattern.slice(open + 1, close);
  const post = pattern.slice(close + 1);
  const range = /^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$/.exec(body);
  let items: string[];
  if (range) items = rangeItems(range, pattern);
  else {
    const parts = splitTopLevel(body);
    if (parts.length < 2) throw new InputError('hosts', `"${pattern}": {${body}} is neither a list {a,b} nor a range {1..9}`);
    items = parts.flatMap((p) => expandBraces(p, limit));
  }
  const rest = expandBraces(post, limit);
  if (items.length * rest.length > limit) tooMany(`"${pattern}"`);
  const out: string[] = [];
  for (const it of items) for (const r of rest) out.push(pre + it + r);
  return out;
}

const NAME = /^[A-Za-z0-9_]([A-Za-z0-9._-]{0,252})$/;
const USER = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/;

function ipv4ToInt(s: string): number {
  return s.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The usable addresses of an IPv4 CIDR block (all of a /31 or /32; else without network and broadcast). */
export function expandCidr(cidr: string, limit = MAX_HOSTS): string[] {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!m || net.isIPv4(m[1] as string) === false || Number(m[2]) > 32) throw new InputError('hosts', `"${cidr}" is not an IPv4 CIDR block like 10.0.0.0/24`);
  const bits = Number(m[2]);
  const size = 2 ** (32 - bits);
  const usable = bits >= 31 ? size : size - 2;
  if (usable > limit) throw new InputError('hosts', `"${cidr}" has ${usable} addresses: at most ${limit} (use a longer prefix, e.g. /16)`);
  const base = ipv4ToInt(m[1] as string) - (ipv4ToInt(m[1] as string) % size);
  const out: string[] = [];
  for (let i = bits >= 31 ? 0 : 1; i < (bits >= 31 ? size : size - 1); i++) out.push(intToIpv4(base + i));
  return out;
}

/** Parses one expanded entry `[user@]host[:port]` (a CIDR host gives several entries). */
export function parseHostEntry(text: string, where = ''): HostEntry[] {
  const say = (why: string): never => {
    throw new InputError('hosts', `${where}"${text}": ${why}`);
  };
  let rest = text;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(user)) say(`"${user}" is not a user name`);
  }
  let host = rest;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
    if (!m) say('an IPv6 address is written [addr] or [addr]:port');
    host = (m as RegExpExecArray)[1] as string;
    portText = (m as RegExpExecArray)[2];
    if (!net.isIPv6(host)) say(`${host} is not an IPv6 address`);
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    [host, portText] = rest.split(':') as [string, string];
    if (portText === '') say('missing port after ":"');
  } else if (rest.includes(':') && !net.isIPv6(rest)) say('not a host, host:port or IPv6 address');
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) say(`port must be 1-65535 (got ${portText})`);
  }
  if (host === '') say('missing host');
  const hosts = host.includes('/') ? expandCidr(host) : [host];
  for (const h of hosts) if (!net.isIP(h) && !NAME.test(h)) say(`"${h}" is not a host name or address`);
  return hosts.map((h) => ({ ...(user !== undefined ? { user } : {}), host: h.toLowerCase(), ...(port !== undefined ? { port } : {}) }));
}

/** Expands one pattern (braces, then CIDR) into entries. */
export function expandHostPattern(pattern: string, where = '', limit = MAX_HOSTS): HostEntry[] {
  const out: HostEntry[] = [];
  for (const p of expandBraces(pattern.trim(), limit)) {
    out.push(...parseHostEntry(p, where));
    if (out.length > limit) tooMany(`${where}"${pattern}"`);
  }
  return out;
}

/** Patterns of a host file: white-space separated, `#` comments, blank lines. */
export function parseHostFile(text: string, file = 'hosts'): HostEntry[] {
  const out: HostEntry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const code = line.replace(/#.*$/, '').trim();
    if (!code) return;
    for (const word of code.split(/\s+/)) {
      out.push(...expandHostPattern(word, `${file}:${i + 1}: `));
      if (out.length > MAX_HOSTS) tooMany(file);
    }
  });
  return out;
}

/** An exclusion matches an entry with the same host and, if the exclusion names them, the same user and port. */
export function matchesExclusion(e: HostEntry, x: HostEntry): boolean {
  return e.host === x.host && (x.user === undefined || x.user === e.user) && (x.port === undefined || x.port === e.port);
}

export function excludeHosts(entries: readonly HostEntry[], exclusions: readonly HostEntry[]): HostEntry[] {
  return entries.filter((e) => !exclusions.some((x) => matchesExclusion(e, x)));
}

/** `user@host:port` as written in a host file (IPv6 with a port in brackets). */
export function formatHostEntry(e: HostEntry): string {
  const host = e.port !== undefined && e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${e.user !== undefined ? e.user + '@' : ''}${host}${e.port !== undefined ? ':' + String(e.port) : ''}`;
}

/** A host with defaults filled in, and how often it was listed (seed 004 listed a Pi 3 times for 3 instances). */
export interface Target {
  user: string;
  host: string;
  port: number;
  /** As the user wrote it (for the failed-hosts file). */
  entry: string;
  listed: number;
}

/** Fills in `--user`/`--port` and merges repeated hosts, keeping the first appearance's order. */
export function toTargets(entries: readonly HostEntry[], defaults: { user: string; port: number }): Target[] {
  const byKey = new Map<string, Target>();
  for (const e of entries) {
    const t = { user: e.user ?? defaults.user, host: e.host, port: e.port ?? defaults.port };
    const key = `${t.user}@${t.host}:${t.port}`;
    const old = byKey.get(key);
    if (old) old.listed++;
    else byKey.set(key, { ...t, entry: formatHostEntry(e), listed: 1 });
  }
  return [...byKey.values()];
}
