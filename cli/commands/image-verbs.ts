/** `tsbuild image tag`, `tsbuild image history` and `tsbuild image prune`, as docker's. */
import { imageHistory, pruneImages } from '../../engine/index.js';
import type { ImageHistoryItem } from '../../engine/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';
import { ago, formatBytes, table } from './image.js';

export async function imageTag(source: string, target: string, globals: GlobalOptions): Promise<void> {
  await withEngine(globals, async (engine) => {
    await engine.images.tag(source, target);
  });
}

export interface HistoryFlags {
  readonly quiet?: boolean;
  readonly trunc?: boolean;
}

/** Docker's width of a truncated CREATED BY: longer text is cut to 44 characters and an ellipsis. */
const CREATED_BY_WIDTH = 45;

function truncated(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

function shortId(id: string, trunc: boolean): string {
  return !trunc || !id.startsWith('sha256:') ? id : id.slice(7, 19);
}

function historyRow(item: ImageHistoryItem, trunc: boolean): string[] {
  const createdBy = item.CreatedBy.replaceAll('\t', ' ');
  return [
    shortId(item.Id, trunc),
    item.Created === 0 ? 'N/A' : ago(item.Created * 1000),
    trunc ? truncated(createdBy, CREATED_BY_WIDTH) : createdBy,
    formatBytes(item.Size),
    item.Comment,
  ];
}

export async function imageHistoryCommand(
  name: string,
  flags: HistoryFlags,
  globals: GlobalOptions,
): Promise<void> {
  await withEngine(globals, async (engine) => {
    const items = await imageHistory(engine, name);
    const trunc = flags.trunc !== false;
    if (flags.quiet) {
      process.stdout.write(items.map((i) => `${shortId(i.Id, trunc)}\n`).join(''));
      return;
    }
    const rows = [['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']];
    for (const item of items) rows.push(historyRow(item, trunc));
    process.stdout.write(table(rows));
  });
}

/** docker's lines: `Deleted Images:`, `untagged: NAME` and `deleted: ID` lines, then the space freed. */
export async function imagePrune(flags: { readonly all?: boolean }, globals: GlobalOptions): Promise<void> {
  await withEngine(
    globals,
    async (engine, signal) => {
      const result = await pruneImages(engine, { all: flags.all === true, signal });
      const lines = [
        ...result.untagged.map((name) => `untagged: ${name}\n`),
        ...result.deleted.map((id) => `deleted: ${id}\n`),
      ];
      if (lines.length > 0) process.stdout.write(`Deleted Images:\n${lines.join('')}\n`);
      process.stdout.write(`Total reclaimed space: ${formatBytes(result.reclaimed)}\n`);
    },
    { cancelOnSignal: true },
  );
}
