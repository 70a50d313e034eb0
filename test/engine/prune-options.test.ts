/**
 * `tsbuild prune`'s options as buildx takes them: `--filter until=<Go duration>` (`unused-for`, its
 * deprecated name), every other filter key refused by name; `--keep-storage` in go-units' RAMInBytes
 * (1024 multiples).
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../core/index.js';
import { parsePruneFilters, pruneSettings } from '../../engine/index.js';

const refused = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('not refused');
};

describe('prune filters and sizes', () => {
  it('takes until as a Go duration, in milliseconds', () => {
    expect(pruneSettings({ filter: parsePruneFilters(['until=24h']) })).toEqual({ until: 86_400_000 });
    expect(pruneSettings({ filter: { until: '1h30m' } })).toEqual({ until: 5_400_000 });
    expect(pruneSettings({ filter: { until: '30m' } })).toEqual({ until: 1_800_000 });
    expect(pruneSettings({ filter: { until: '1.5s' } })).toEqual({ until: 1500 });
    expect(pruneSettings({ filter: { until: 2500 } })).toEqual({ until: 2500 });
    expect(parsePruneFilters(['unused-for=2h'])).toEqual({ until: '2h' });
    expect(parsePruneFilters([' Until = 5m '])).toEqual({ until: '5m' });
    expect(parsePruneFilters([])).toEqual({});
  });

  it('refuses unknown filter keys by name, bad durations and repeated values', () => {
    expect(refused(() => parsePruneFilters(['type=regular', 'until=1h', 'id=x']))).toBe(
      'unknown prune filter "type", "id"',
    );
    expect(refused(() => pruneSettings({ filter: { until: '1h', label: 'x' } as never }))).toMatch(
      /unknown prune filter "label"/,
    );
    expect(refused(() => parsePruneFilters(['until']))).toMatch(
      /bad format of filter \(expected name=value\)/,
    );
    expect(refused(() => parsePruneFilters(['until=1h', 'until=2h']))).toBe('filters expect only one value');
    expect(refused(() => parsePruneFilters(['until=1h', 'unused-for=2h']))).toMatch(/conflicting filters/);
    expect(refused(() => pruneSettings({ filter: { until: '24' } }))).toBe(
      `"until" filter expects a duration (e.g., '24h'): time: missing unit in duration "24"`,
    );
    expect(refused(() => pruneSettings({ filter: { until: '1d' } }))).toMatch(/unknown unit "d"/);
    expect(refused(() => pruneSettings({ filter: { until: '-1h' } }))).toMatch(/not negative/);
  });

  it('takes keep-storage in docker units (1024 multiples) or bytes', () => {
    expect(pruneSettings({ keepStorage: '10GB' })).toEqual({ keepStorage: 10 * 1024 ** 3 });
    expect(pruneSettings({ keepStorage: '512MB' })).toEqual({ keepStorage: 512 * 1024 ** 2 });
    expect(pruneSettings({ keepStorage: '1kB' })).toEqual({ keepStorage: 1024 });
    expect(pruneSettings({ keepStorage: '1.5g' })).toEqual({ keepStorage: 1.5 * 1024 ** 3 });
    expect(pruneSettings({ keepStorage: '100' })).toEqual({ keepStorage: 100 });
    expect(pruneSettings({ keepStorage: '100B' })).toEqual({ keepStorage: 100 });
    expect(pruneSettings({ keepStorage: 4096 })).toEqual({ keepStorage: 4096 });
    expect(refused(() => pruneSettings({ keepStorage: '10XB' }))).toMatch(/invalid keep-storage size "10XB"/);
    expect(refused(() => pruneSettings({ keepStorage: -1 }))).toMatch(/invalid keep-storage size/);
  });
});
