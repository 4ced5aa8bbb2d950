import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import { MAX_CODE_BYTES, bundleTaskModule, findTask, moduleTaskName } from '../tasks/index.js';
import { codePublicKey, newCodeKeyPem, sha256Hex, verifyCodeHash } from '../trust/index.js';
import { CodeStore } from './code-store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-usercode-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = newCodeKeyPem();

const MODULE = (k: number): string => `import { defineTask, param } from 'bramble';
export default defineTask({
  name: 'sq${k}', description: 'sum of squares', params: { k: param.integer({ description: 'added', default: ${k} }) },
  run: (p, s, e) => { let t = 0n; for (let n = s; n <= e; n++) t += n * n; return { summary: { t: String(t + BigInt(p.k)) }, output: null }; },
  checkSummary: (x) => ({ t: String(x.t) }),
  fold() { let t = 0n; return { add: (_i, _s, _e, x) => void (t += BigInt(x.t)), result: () => ({ t: String(t) }) }; },
});
`;

describe('CodeStore', () => {
  it('stores by SHA-256 with a signature of the code key, and refuses more than 16 MiB with the size', () => {
    const store = new CodeStore(dir, key);
    const bytes = new TextEncoder().encode('print("hi")\n');
    const hash = store.put(bytes);
    expect(hash).toBe(sha256Hex(bytes));
    const got = store.get(hash);
    expect(Buffer.from(got!.bytes).equals(Buffer.from(bytes))).toBe(true);
    expect(verifyCodeHash(codePublicKey(key), hash, got!.signature)).toBe(true);
    expect(verifyCodeHash(codePublicKey(newCodeKeyPem()), hash, got!.signature)).toBe(false);
    expect(store.get('0'.repeat(64))).toBeNull();
    expect(() => store.put(new Uint8Array(MAX_CODE_BYTES + 1))).toThrow(InputError);
    expect(() => store.put(new Uint8Array(MAX_CODE_BYTES + 1))).toThrow(/is 16777217 bytes \(16\.0 MiB\), over the 16\.0 MiB limit/);
  });

  it('loads its task modules again at start (a restarted head folds their jobs), but not one altered on disk', async () => {
    const src = path.join(dir, 'sq.mjs');
    writeFileSync(src, MODULE(1));
    const good = await bundleTaskModule(src);
    writeFileSync(src, MODULE(2));
    const bad = await bundleTaskModule(src);
    const first = new CodeStore(dir, key);
    const t = await first.putModule(good, 'sq.mjs');
    expect(t.name).toBe(moduleTaskName(sha256Hex(good)));
    expect(t.params({ k: '5' })).toEqual({ k: 5 });
    await first.putModule(bad, 'sq2.mjs');
    appendFileSync(path.join(dir, 'code', `${sha256Hex(bad)}.mjs`), '\n// altered\n');
    const errors: string[] = [];
    const again = new CodeStore(dir, key);
    expect(await again.loadModules((h, e) => errors.push(`${h}: ${e.message}`))).toBe(1);
    expect(errors).toEqual([`${sha256Hex(bad)}: its bytes no longer match its hash`]);
    const task = findTask(t.name)!;
    const f = task.folder();
    f.add(0, 1n, 3n, task.checkSummary({ t: '15' }, 1n, 3n));
    expect(f.result()).toEqual({ t: '15' });
    expect(readFileSync(path.join(dir, 'code', `${sha256Hex(good)}.sig`), 'utf8').trim()).not.toBe('');
  });
});
