/** Numbers, durations and times as the page writes them. */
import type { JobStatus } from './model.js';
import { serverNow } from './state.js';

function digits(str: string): string {
  return str.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** An integer with thousands separators; decimal strings (numbers beyond 2^53) are kept exact. */
export function fmtInt(v: unknown): string {
  if (v === null || v === undefined || v === '') return '–';
  if (typeof v === 'number') return isFinite(v) ? digits(Math.round(v).toString()) : '–';
  return digits(String(v));
}

export function fmtSI(v: number | null | undefined): string {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  const a = Math.abs(v);
  const units: [number, string][] = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) {
    if (a >= size) {
      const x = v / size;
      return x.toFixed(Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2) + ' ' + unit;
    }
  }
  return a >= 100 || a === 0 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function fmtAxis(v: number): string {
  return fmtSI(v)
    .replace(/\.0+( |$)/, '$1')
    .replace(/(\.\d*?)0+( |$)/, '$1$2');
}

export function fmtRate(v: number | null | undefined, unit = ''): string {
  return v === null || v === undefined ? '–' : fmtSI(v) + unit + '/s';
}

export function fmtDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !isFinite(sec) || sec < 0) return '–';
  if (sec < 9.95) return sec.toFixed(1) + ' s';
  const s = Math.round(sec);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min' + (s % 60 && s < 600 ? ' ' + (s % 60) + ' s' : '');
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
}

export function fmtAgo(t: number | null | undefined): string {
  if (!t) return '–';
  const s = (serverNow() - t) / 1000;
  return s < 2 ? 'just now' : fmtDuration(s) + ' ago';
}

export function fmtClock(t: number): string {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function fmtPct(p: number | null | undefined): string {
  if (p === null || p === undefined) return '–';
  if (p >= 1) return '100%';
  return (Math.floor(p * 1000) / 10).toFixed(1) + '%';
}

export function fmtBytes(b: number | null | undefined): string {
  if (b === null || b === undefined) return '–';
  return fmtSI(b) + (b >= 1000 ? 'B' : ' B');
}

export function fmtTemp(t: number | null | undefined): string {
  return t === null || t === undefined ? '–' : t.toFixed(1) + ' °C';
}

/** A big number: decimal strings past 15 digits as they are, the rest with separators. */
export function big(v: unknown): string {
  return typeof v === 'string' && v.length > 15 ? v : fmtInt(v);
}

/** White or near-black, whichever reads better on this `rgb(...)` background. */
export function textOn(rgb: string): string {
  const m = /(\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
  if (!m) return '#fff';
  const l = (0.299 * Number(m[1]) + 0.587 * Number(m[2]) + 0.114 * Number(m[3])) / 255;
  return l > 0.6 ? '#0b1020' : '#ffffff';
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
/** Names with numbers in natural order: desk2-pi1 before desk10-pi1. */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b);
}

/** A job's one-line title: "primes 1 … 1,000,000", "life 200×150, 300 generations". */
export function taskTitle(j: JobStatus): string {
  if (j.task === 'life') {
    const p = j.params;
    return 'life ' + String(p['width']) + '×' + String(p['height']) + ', ' + fmtInt(p['generations']) + ' generations';
  }
  if (j.task === 'noop') return 'noop × ' + fmtInt(j.chunks.total);
  return j.task + ' ' + fmtInt(j.start) + ' … ' + fmtInt(j.end);
}
