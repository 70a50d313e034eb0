/** `tsbuild image import|ls|inspect|rm`, `tsbuild debug fsck` (`du` and `prune`: prune.ts). */
import {
  DANGLING,
  familiarName,
  fsck,
  importRootfs,
  inspectImage,
  inspectImages,
  removeImageName,
} from '../../engine/index.js';
import type { ImageInspect } from '../../engine/index.js';
import { familiarReference, parseReference } from '../../oci/index.js';
import { progressUnder, reportStep } from '../../core/index.js';
import { tabwrite } from '../format-output.js';
import { parseProgressMode, withRenderer } from '../progress/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}

export function ago(ms: number): string {
  return `${humanDuration(Date.now() - ms)} ago`;
}

/** go-units' HumanDuration, which docker prints in CREATED columns: `About a minute`, `3 days`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** Docker's table: columns padded to their widest cell plus three spaces. */
export function table(rows: string[][]): string {
  return rows.length === 0 ? '\n' : tabwrite(rows, { padding: 3 });
}

export async function imageImport(
  source: string,
  name: string,
  options: { message?: string; progress?: string },
  globals: GlobalOptions,
): Promise<void> {
  const mode = parseProgressMode(options.progress ?? 'auto');
  await withEngine(globals, async (engine) => {
    // One vertex, as a build shows a step: the bytes read and the unpacking are lines under it.
    const step = { digest: 'import', name: `importing ${source === '-' ? 'stdin' : source} as ${name}` };
    const result = await withRenderer({ mode, out: process.stderr }, (writer) => {
      const progress = progressUnder(writer, step.digest);
      return reportStep(progress, step, () =>
        importRootfs(engine, source, name, {
          progress,
          ...(options.message ? { message: options.message } : {}),
        }),
      );
    });
    // The image ID, as `docker import` prints it and `image ls` shows it.
    process.stdout.write(`${result.config.digest}\n`);
    process.stderr.write(
      `imported ${familiarName(result.record.name)}: layer ${result.layer.digest.slice(7, 19)} ` +
        `(${formatBytes(result.layer.size)}), snapshot ${result.snapshot.slice(7, 19)}\n`,
    );
  });
}

/** `repo`, `tag` and `digest` columns of one `image ls` row: `<none>` where the name has none. */
function lsColumns(image: ImageInspect): { repo: string; tag: string; digest: string } {
  if (image.Name === DANGLING) return { repo: '<none>', tag: '<none>', digest: '<none>' };
  const ref = parseReference(image.Name);
  const repo = familiarReference({ domain: ref.domain, path: ref.path });
  const known = ref.digest ?? image.RepoDigests.find((d) => d.startsWith(`${repo}@`))?.slice(repo.length + 1);
  return { repo, tag: ref.tag ?? '<none>', digest: known ?? '<none>' };
}

export async function imageLs(
  options: { quiet?: boolean; format?: string; digests?: boolean },
  globals: GlobalOptions,
): Promise<void> {
  await withEngine(globals, async (engine) => {
    const images = await inspectImages(engine);
    if (options.format === 'json') {
      process.stdout.write(JSON.stringify(images, null, 2) + '\n');
      return;
    }
    if (options.quiet) {
      process.stdout.write(images.map((i) => i.Id.slice(7, 19) + '\n').join(''));
      return;
    }
    const digests = options.digests === true;
    const rows = [['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE']];
    for (const image of images) {
      const { repo, tag, digest } = lsColumns(image);
      rows.push([
        repo,
        tag,
        ...(digests ? [digest] : []),
        image.Id.slice(7, 19),
        image.Created ? ago(Date.parse(image.Created)) : '',
        formatBytes(image.Size),
      ]);
    }
    process.stdout.write(table(rows));
  });
}

export async function imageInspect(names: string[], globals: GlobalOptions): Promise<void> {
  await withEngine(globals, async (engine) => {
    const out = [];
    for (const name of names) out.push(await inspectImage(engine, name));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  });
}

export async function imageRm(names: string[], force: boolean, globals: GlobalOptions): Promise<void> {
  await withEngine(globals, async (engine) => {
    for (const name of names) {
      const record = await removeImageName(engine, name, { force });
      process.stdout.write(`Untagged: ${familiarName(record.name)}\n`);
    }
  });
}

export async function debugFsck(globals: GlobalOptions): Promise<number> {
  return withEngine(globals, async (engine) => {
    const report = await fsck(engine);
    for (const problem of report.problems)
      process.stdout.write(`${problem.kind}: ${problem.path}: ${problem.message}\n`);
    process.stdout.write(
      `checked ${report.blobs} blobs, ${report.snapshots} snapshots, ${report.images} images: ` +
        `${report.problems.length === 0 ? 'no problems' : `${report.problems.length} problems`}\n`,
    );
    return report.problems.length === 0 ? 0 : 1;
  });
}
