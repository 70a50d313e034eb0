/**
 * Layer throughput against the usual tools, in one run:
 *   diff:  our WalkingDiffer (empty lower → tar + gzip, both digests, blob in a store)  vs  tar -c | pigz
 *   apply: our applier on that blob (gunzip + untar + diffID)                            vs  tar -xzf
 * on a generated tree (default 200 MB in 20,000 files, half text, half random bytes: gzip ≈ 1.6×).
 *
 *   node dist/bench/layers.js [--mb 200] [--files 20000] [--runs 3] [--dir /tmp] [--level 6]
 *
 * Each measurement runs `runs` times, alternating ours and theirs; the best time counts (the disk and
 * the page cache are shared with whatever else runs here). Prints the times and the ratios.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyLayer } from '../diff/applier.js';
import { WalkingDiffer } from '../diff/differ.js';
import type { ContentInfo, ContentStore, ContentWriter } from '../content/index.js';
import type { Digest } from '../oci/index.js';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '200' },
    files: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: process.env.TSBUILD_BENCH_DIR ?? tmpdir() },
    level: { type: 'string', default: '6' },
  },
});
const totalBytes = Number(values.mb) * 1024 * 1024;
const fileCount = Number(values.files);
const runs = Number(values.runs);
const level = Number(values.level);

/** Just enough of a content store for the differ: blobs as files. */
class BenchStore implements Partial<ContentStore> {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true });
  }
  path(digest: Digest): string {
    return join(this.root, digest.slice(7));
  }
  async writer(options: { ref: string }): Promise<ContentWriter> {
    const temp = join(this.root, `ingest-${options.ref}`);
    const out = createWriteStream(temp);
    let offset = 0;
    const hash = createHash('sha256');
    const finish = async (): Promise<void> => {
      out.end();
      await once(out, 'close');
    };
    return {
      ref: options.ref,
      get offset() {
        return offset;
      },
      write: async (chunk) => {
        offset += chunk.length;
        hash.update(chunk);
        if (!out.write(chunk)) await once(out, 'drain');
      },
      commit: async (o = {}): Promise<ContentInfo> => {
        await finish();
        const digest: Digest = `sha256:${hash.digest('hex')}`;
        if (o.expected !== undefined && o.expected !== digest) throw new Error('digest mismatch');
        renameSync(temp, this.path(digest));
        return { digest, size: offset, createdAt: Date.now(), updatedAt: Date.now(), labels: o.labels ?? {} };
      },
      abort: async () => {
        await finish();
        rmSync(temp, { force: true });
      },
    };
  }
}

/** A deterministic tree: sizes uniform around the mean, 1% of files 20× larger. */
function generate(root: string): number {
  let s = 0x9e3779b9;
  const rnd = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const corpus = Buffer.alloc(8 << 20);
  const noise = randomBytes(corpus.length);
  const words =
    'the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(
      ' ',
    );
  for (let o = 0; o < corpus.length;) {
    if (rnd() % 2) {
      const n = Math.min(64, corpus.length - o);
      noise.copy(corpus, o, o, o + n);
      o += n;
    } else {
      for (let k = 0; k < 8 && o < corpus.length; k++)
        o += corpus.write(`${words[rnd() % words.length]} `, o);
    }
  }
  const mean = totalBytes / fileCount;
  // 1% of the files at 20× the mean carry ~17% of the bytes; the rest share the remainder.
  const small = Math.max(
    1,
    Math.round(((totalBytes - fileCount * 0.01 * 20 * mean) / (fileCount * 0.99)) * 2),
  );
  let total = 0;
  for (let i = 0; i < fileCount; i++) {
    const dir = join(root, `d${i % 50}`, `s${i % 7}`);
    if (i < 350) mkdirSync(dir, { recursive: true });
    const size = i % 100 === 0 ? Math.round(20 * mean) : rnd() % small;
    const off = rnd() % (corpus.length - size);
    writeFileSync(join(dir, `f${i}`), corpus.subarray(off, off + size));
    total += size;
  }
  return total;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function sh(script: string): void {
  const r = spawnSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`failed: ${script}`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(values.dir, 'tsbuild-bench-layers-'));
  try {
    const tree = join(work, 'tree');
    mkdirSync(tree);
    let t = process.hrtime.bigint();
    const bytes = generate(tree);
    execFileSync('sync');
    console.log(
      `tree: ${fileCount} files, ${(bytes / 1e6).toFixed(1)} MB in ${work} (${seconds(t).toFixed(1)} s to make)`,
    );

    const store = new BenchStore(join(work, 'store'));
    const differ = new WalkingDiffer(store as unknown as ContentStore);
    const ours: number[] = [];
    const theirs: number[] = [];
    let blob = '';
    let blobSize = 0;
    let diffID = '';
    for (let i = 0; i < runs; i++) {
      t = process.hrtime.bigint();
      const r = await differ.compare([], [{ type: 'bind', source: tree, options: ['ro'] }], {
        compression: 'gzip',
        level,
      });
      ours.push(seconds(t));
      blob = store.path(r.descriptor.digest);
      blobSize = r.descriptor.size;
      diffID = r.diffID;
      t = process.hrtime.bigint();
      sh(`tar -C '${tree}' -cf - . | pigz -${level} > '${work}/pigz.tgz'`);
      theirs.push(seconds(t));
    }
    const diffOurs = Math.min(...ours);
    const diffTheirs = Math.min(...theirs);
    const pigzSize = Number(execFileSync('stat', ['-c', '%s', `${work}/pigz.tgz`]).toString());
    console.log(
      `diff   ours ${fmt(ours)}   tar|pigz ${fmt(theirs)}   ratio ${(diffOurs / diffTheirs).toFixed(2)}×`,
    );
    console.log(`       blob ${(blobSize / 1e6).toFixed(1)} MB (pigz ${(pigzSize / 1e6).toFixed(1)} MB)`);

    const aOurs: number[] = [];
    const aTheirs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = join(work, `apply-ours-${i}`);
      const b = join(work, `apply-tar-${i}`);
      mkdirSync(a);
      mkdirSync(b);
      t = process.hrtime.bigint();
      const r = await applyLayer(createReadStream(blob, { highWaterMark: 1 << 20 }), {
        root: a,
        whiteouts: 'delete',
      });
      aOurs.push(seconds(t));
      if (r.diffID !== diffID) throw new Error('diffID mismatch');
      t = process.hrtime.bigint();
      sh(`tar -C '${b}' -xzf '${blob}'`);
      aTheirs.push(seconds(t));
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
    const applyOurs = Math.min(...aOurs);
    const applyTheirs = Math.min(...aTheirs);
    console.log(
      `apply  ours ${fmt(aOurs)}   tar -xzf ${fmt(aTheirs)}   ratio ${(applyOurs / applyTheirs).toFixed(2)}×`,
    );
    console.log(
      `summary: diff ${diffOurs.toFixed(2)} s vs ${diffTheirs.toFixed(2)} s (${(diffOurs / diffTheirs).toFixed(2)}×), ` +
        `apply ${applyOurs.toFixed(2)} s vs ${applyTheirs.toFixed(2)} s (${(applyOurs / applyTheirs).toFixed(2)}×); target ≤ 1.25×`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function fmt(times: number[]): string {
  return `${Math.min(...times).toFixed(2)} s (runs ${times.map((x) => x.toFixed(2)).join(' ')})`;
}

await main();
