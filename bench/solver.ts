/**
 * Context hashing benchmark (`node dist/bench/solver.js [files] [megabytes]`): builds a context of
 * 20,000 files / 200 MB in a temp dir, then times a cold hash, a no-change re-hash with the stat
 * cache re-loaded from disk (as a new process would), and a re-hash after one file changed.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPath, StatCache } from '../worker/contenthash/index.js';

const FILES = Number(process.argv[2] ?? 20_000);
const MEGABYTES = Number(process.argv[3] ?? 200);
const PER_DIR = 100;

async function makeContext(root: string): Promise<void> {
  const size = Math.floor((MEGABYTES * 1024 * 1024) / FILES);
  const past = new Date(Date.now() - 10_000);
  for (let d = 0; d * PER_DIR < FILES; d++) {
    const dir = join(root, `pkg${Math.floor(d / 20)}`, `dir${d}`);
    await mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let f = d * PER_DIR; f < Math.min(FILES, (d + 1) * PER_DIR); f++) {
      const path = join(dir, `file${f}.dat`);
      const data = Buffer.alloc(size, f % 251);
      data.writeUInt32LE(f, 0);
      writes.push(writeFile(path, data).then(() => utimes(path, past, past)));
    }
    await Promise.all(writes);
  }
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  console.log(`${label.padEnd(34)} ${((performance.now() - start) / 1000).toFixed(3)} s`);
  return result;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-bench-ctx-'));
  const context = join(work, 'context');
  const cacheFile = join(work, 'statcache.json');
  try {
    await timed(`create ${FILES} files / ${MEGABYTES} MB`, () => makeContext(context));
    // ctime cannot be set back: wait out the racy window so the cold scan's entries are trusted.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const cold = await StatCache.open(cacheFile);
    const first = await timed('cold hash', () => hashPath(context, '/', { statCache: cold }));
    await timed('save stat cache', () => cold.save());

    const warm = await timed('open stat cache (new StatCache)', () => StatCache.open(cacheFile));
    const again = await timed('no-change re-hash', () => hashPath(context, '/', { statCache: warm }));
    if (again !== first) throw new Error('no-change re-hash differs');
    console.log(`  counters ${JSON.stringify(warm.counters)}`);

    await writeFile(join(context, 'pkg0', 'dir0', 'file0.dat'), 'changed');
    const changed = await timed('one-file-changed re-hash', () =>
      hashPath(context, '/', { statCache: warm }),
    );
    if (changed === first) throw new Error('change not detected');
    console.log(`  counters ${JSON.stringify(warm.counters)}`);
    await timed('save stat cache', () => warm.save());
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
