/** canRunSuite (test/helpers/prereq.ts): a missing prerequisite skips with a reason, and fails under CI=true. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as PrereqModule from './helpers/prereq.js';

type Prereq = typeof PrereqModule;

/** prereq.ts (and shared.ts) read CI and TSBUILD_SHARED when loaded: load them afresh under `env`. */
async function load(env: Record<string, string>): Promise<Prereq> {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.resetModules();
  return import('./helpers/prereq.js');
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.resetModules();
});

describe('canRunSuite', () => {
  const absent = { TSBUILD_SHARED: '/nonexistent-tsbuild-shared' };

  it('without CI: prints which prerequisites are missing and returns false', async () => {
    const { canRunSuite } = await load({ ...absent, CI: '' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const ok = canRunSuite('the demo suite', { conformance: true, tools: ['tsbuild-no-such-command'] });
    expect(ok).toBe(false);
    expect(warn).toHaveBeenCalledWith(
      'the demo suite needs conformance data at /nonexistent-tsbuild-shared/conformance, tsbuild-no-such-command: skipped',
    );
  });

  it('with CI=true: a missing prerequisite throws, naming the suite and what is missing', async () => {
    const { canRunSuite } = await load({ ...absent, CI: 'true' });
    expect(() => canRunSuite('the demo suite', { tools: ['tsbuild-no-such-command'] })).toThrow(
      'the demo suite needs tsbuild-no-such-command; under CI=true a missing prerequisite is a failure, not a skip',
    );
  });

  it('with everything present: true, silently, with or without CI', async () => {
    for (const CI of ['', 'true']) {
      const { canRunSuite } = await load({ CI });
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      expect(canRunSuite('the demo suite', { tools: ['sh'] })).toBe(true);
      expect(warn).not.toHaveBeenCalled();
    }
  });

  it('missingFor names root when not root, and nothing for an empty list of needs', async () => {
    const { missingFor, isRoot } = await load({});
    expect(missingFor({})).toEqual([]);
    expect(missingFor({ root: true })).toEqual(isRoot ? [] : ['root']);
  });
});
