/** `tsbuild du` and `tsbuild prune` (buildx's `--filter until=` and `--keep-storage`). */
import { diskUsage, parsePruneFilters, prune, pruneSettings } from '../../engine/index.js';
import type { DiskUsage, PrunedRecord } from '../../engine/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';
import { ago, formatBytes, table } from './image.js';

/** The TYPE column of `du`. */
const USAGE_TYPES: Record<keyof DiskUsage, string> = {
  images: 'images',
  snapshots: 'snapshots',
  blobs: 'blobs',
  cacheMounts: 'cache mounts',
  logs: 'build logs',
  volumes: 'volumes',
};

export async function du(options: { format?: string }, globals: GlobalOptions): Promise<void> {
  await withEngine(globals, async (engine) => {
    const usage = await diskUsage(engine);
    if (options.format === 'json') {
      process.stdout.write(JSON.stringify(usage, null, 2) + '\n');
      return;
    }
    const rows = [['TYPE', 'COUNT', 'SIZE', 'RECLAIMABLE']];
    for (const [type, label] of Object.entries(USAGE_TYPES) as [keyof DiskUsage, string][]) {
      const u = usage[type];
      // Images own no bytes of their own: their documents and layers are counted under blobs.
      const sized = type !== 'images';
      rows.push([
        label,
        String(u.count),
        sized ? formatBytes(u.size) : '-',
        sized ? formatBytes(u.reclaimable) : '-',
      ]);
    }
    process.stdout.write(table(rows));
  });
}

/** go-units' HumanSize, which buildx prints sizes with: 4 significant digits, 1000 multiples. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** buildx's prune lines: one row per thing removed, then `Total: <size>`. */
export function pruneReport(removed: readonly PrunedRecord[], bytes: number): string {
  const rows = [['ID', 'TYPE', 'SIZE', 'LAST ACCESSED']];
  for (const r of removed) rows.push([r.id, r.kind, humanSize(r.size), ago(r.lastUsed)]);
  return `${removed.length > 0 ? table(rows) : ''}Total: ${humanSize(bytes)}\n`;
}

export interface PruneFlags {
  readonly filter: string[];
  readonly keepStorage?: string;
}

export async function pruneCommand(flags: PruneFlags, globals: GlobalOptions): Promise<void> {
  // Checked before the root is opened: a bad filter or size changes nothing.
  const options = {
    filter: parsePruneFilters(flags.filter),
    ...(flags.keepStorage !== undefined ? { keepStorage: flags.keepStorage } : {}),
  };
  pruneSettings(options);
  await withEngine(
    globals,
    async (engine, signal) => {
      const result = await prune(engine, { ...options, signal });
      process.stdout.write(pruneReport(result.removed, result.bytes));
    },
    { cancelOnSignal: true },
  );
}
