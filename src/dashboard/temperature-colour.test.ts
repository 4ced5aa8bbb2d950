import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { bundledAsset } from './assets/bundle.js';
import { temperatureColour } from './temperature-colour.js';

function rgb(s: string): [number, number, number] {
  const m = /^rgb\((\d+), (\d+), (\d+)\)$/.exec(s);
  if (!m) throw new Error(`not rgb(): ${s}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

describe('temperatureColour (seed 004 scale)', () => {
  it('is blue at 40 °C, green at 50, yellow at 60, orange at 70 and red at 80', () => {
    const [b0, b1, b2] = rgb(temperatureColour(40));
    expect(b2).toBeGreaterThan(Math.max(b0, b1)); // blue
    const [g0, g1, g2] = rgb(temperatureColour(50));
    expect(g1).toBeGreaterThan(Math.max(g0, g2) + 80); // green
    const [y0, y1, y2] = rgb(temperatureColour(60));
    expect(Math.min(y0, y1)).toBeGreaterThan(190);
    expect(y2).toBeLessThan(60); // yellow: red and green, no blue
    const [o0, o1, o2] = rgb(temperatureColour(70));
    expect(o0).toBeGreaterThan(230);
    expect(o1).toBeGreaterThan(100);
    expect(o1).toBeLessThan(170);
    expect(o2).toBeLessThan(40); // orange
    const [r0, r1, r2] = rgb(temperatureColour(80));
    expect(r0).toBeGreaterThan(200);
    expect(Math.max(r1, r2)).toBeLessThan(60); // red
  });

  it('clamps outside [40, 80] and interpolates between stops like get_color', () => {
    expect(temperatureColour(-5)).toBe(temperatureColour(40));
    expect(temperatureColour(120)).toBe(temperatureColour(80));
    const [a0, a1, a2] = rgb(temperatureColour(50));
    const [b0, b1, b2] = rgb(temperatureColour(60));
    const [m0, m1, m2] = rgb(temperatureColour(55));
    expect(m0).toBe(Math.round((a0 + b0) / 2));
    expect(m1).toBe(Math.round((a1 + b1) / 2));
    expect(m2).toBe(Math.round((a2 + b2) / 2));
  });

  it('is grey without a temperature', () => {
    expect(temperatureColour(null)).toBe('rgb(88, 96, 116)');
    expect(temperatureColour(undefined)).toBe('rgb(88, 96, 116)');
    expect(temperatureColour(Number.NaN)).toBe('rgb(88, 96, 116)');
  });
});

describe('the dashboard assets', () => {
  it('the script parses and carries the same colour function the server uses', () => {
    const code = bundledAsset('app.js');
    expect(() => new vm.Script(code)).not.toThrow();
    // run the bundled function on its own, outside any page
    const src = /\n( *)(function temperatureColour\([\s\S]*?\n)\1\}\n/.exec(code);
    expect(src).not.toBeNull();
    const fn = vm.runInNewContext(`(${(src as RegExpExecArray)[2] as string}})`) as (t: number | null) => string;
    for (const t of [null, 35, 40, 44.4, 50, 57.3, 60, 66.6, 70, 79.9, 80, 95]) expect(fn(t)).toBe(temperatureColour(t));
  });

  it('writes to the page only through textContent and CSSOM (no innerHTML, no eval)', () => {
    const code = bundledAsset('app.js');
    expect(code).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    const css = bundledAsset('app.css');
    expect(css).not.toContain('@import');
    expect(css).not.toMatch(/url\(\s*['"]?https?:/);
  });
});
