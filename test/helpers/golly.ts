import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/** Whether bgolly (Debian package golly) is installed; a test that needs it fails without it in CI. */
export const hasBgolly = spawnSync('bgolly', ['--help'], { encoding: 'utf8' }).error === undefined;

/**
 * Runs `bgolly -a QuickLife -m GENS -o OUTPUT INPUT` (RLE files); bgolly writes only the live cells'
 * bounding box, with the input's rule.
 */
export function bgolly(input: string, gens: number, output: string): void {
  expect(hasBgolly, 'bgolly (Debian package golly) must be installed in CI').toBe(true);
  const r = spawnSync('bgolly', ['-a', 'QuickLife', '-m', String(gens), '-q', '-q', '-o', output, input], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}
