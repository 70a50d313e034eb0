/** `docker volume ls --filter`: parsing the flags' `key=value` and matching a volume. */
import { InvalidArgumentError } from '../core/index.js';
import type { VolumeFilters, VolumeInfo } from './volume-types.js';

/** Whether `info` (used by a container or not) passes every filter. */
export function matchesFilters(info: VolumeInfo, used: boolean, filters: VolumeFilters): boolean {
  if (filters.dangling !== undefined && filters.dangling === used) return false;
  if (filters.name !== undefined && !filters.name.some((n) => info.Name.includes(n))) return false;
  if (filters.driver !== undefined && !filters.driver.includes(info.Driver)) return false;
  for (const label of filters.label ?? []) {
    const eq = label.indexOf('=');
    const key = eq < 0 ? label : label.slice(0, eq);
    const value = info.Labels[key];
    if (value === undefined || (eq >= 0 && value !== label.slice(eq + 1))) return false;
  }
  return true;
}

const KEYS = ['dangling', 'name', 'label', 'driver'] as const;

/** `--filter` values (`dangling=true`, `name=web`, `label=k`, `label=k=v`, `driver=local`); other keys refused by name. */
export function parseVolumeFilters(flags: readonly string[]): VolumeFilters {
  const lists: Record<'name' | 'label' | 'driver', string[]> = { name: [], label: [], driver: [] };
  let dangling: boolean | undefined;
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = eq < 0 ? flag : flag.slice(0, eq);
    const value = eq < 0 ? '' : flag.slice(eq + 1);
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`invalid filter ${JSON.stringify(key)}`, {
        hint: `volume filters: ${KEYS.join(', ')}`,
      });
    }
    if (eq < 0 || value === '') {
      throw new InvalidArgumentError(`bad format of filter (expected name=value): ${JSON.stringify(flag)}`);
    }
    if (key === 'dangling') {
      const parsed = ({ true: true, '1': true, false: false, '0': false } as Record<string, boolean>)[value];
      if (parsed === undefined) {
        throw new InvalidArgumentError(`invalid filter 'dangling=${value}'`, {
          hint: 'dangling=true or dangling=false',
        });
      }
      if (dangling !== undefined && dangling !== parsed) {
        throw new InvalidArgumentError('dangling=true and dangling=false cannot be given together');
      }
      dangling = parsed;
    } else lists[key as keyof typeof lists].push(value);
  }
  return {
    ...(dangling !== undefined ? { dangling } : {}),
    ...(lists.name.length > 0 ? { name: lists.name } : {}),
    ...(lists.label.length > 0 ? { label: lists.label } : {}),
    ...(lists.driver.length > 0 ? { driver: lists.driver } : {}),
  };
}
