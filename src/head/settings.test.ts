import { describe, expect, it } from 'vitest';
import { zod } from '../core/index.js';
import { HEAD_DEFAULTS, HEAD_SETTING_KEYS, headSettings, headSettingsShape } from './settings.js';

describe('head settings', () => {
  it('without overrides, are what the schema makes of {} (no zod needed for them)', () => {
    expect(headSettings()).toEqual(zod().object(headSettingsShape()).strict().parse({}));
    expect(Object.keys(HEAD_DEFAULTS).every((k) => (HEAD_SETTING_KEYS as readonly string[]).includes(k))).toBe(true);
    expect([...HEAD_SETTING_KEYS].sort()).toEqual(Object.keys(headSettingsShape()).sort());
  });

  it('checks overrides by the schema, naming the setting', () => {
    expect(headSettings({ leaseMs: 1000 }).leaseMs).toBe(1000);
    expect(() => headSettings({ leaseMs: 10 })).toThrow(/leaseMs/);
    expect(() => headSettings({ bogus: 1 } as never)).toThrow(/bogus/);
  });
});
