import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './token-bucket.js';

describe('TokenBuckets', () => {
  it('lets a burst through, then refills at its rate, per key', () => {
    let t = 0;
    const b = new TokenBuckets(10, 5, () => t);
    for (let i = 0; i < 5; i++) expect(b.reserve('a')).toBe(0);
    expect(b.reserve('a')).toBe(100); // one token at 10 a second
    expect(b.reserve('b')).toBe(0); // another key has its own bucket
    t = 100;
    expect(b.reserve('a')).toBe(100);
    t = 10_000;
    expect(b.level('a')).toBe(5);
    expect(b.size).toBe(1); // a full bucket is forgotten ('b' too)
  });

  it('may go below zero for a cost known afterwards, and then says how long to wait', () => {
    let t = 0;
    const b = new TokenBuckets(1000 / 60, 1000, () => t); // 1,000 ms of check time a minute
    b.spend('x', 3000);
    expect(b.level('x')).toBe(-2000);
    expect(b.waitFor('x', 0)).toBe(120_000);
    t = 120_000;
    expect(b.waitFor('x', 0)).toBe(0);
  });

  it('reserve: each waiter gets its own turn, one after the other', () => {
    let t = 0;
    const b = new TokenBuckets(10, 2, () => t);
    expect([b.reserve('a'), b.reserve('a'), b.reserve('a'), b.reserve('a')]).toEqual([0, 0, 100, 200]);
    t = 200;
    expect(b.reserve('a')).toBe(100);
  });

  it('keeps at most maxKeys keys, dropping the fullest', () => {
    const b = new TokenBuckets(1, 10, () => 0, 2);
    b.spend('a', 1);
    b.spend('b', 5);
    b.spend('c', 5);
    expect(b.size).toBe(2);
    expect(b.level('a')).toBe(10); // 'a' (fullest) was dropped
    expect(b.level('b')).toBe(5);
  });
});
