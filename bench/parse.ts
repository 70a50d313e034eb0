/**
 * Parser throughput: the realworld corpus (parse + convert), and generated Dockerfiles of growing size to
 * show that time grows linearly with input. Run: `make bench-parse` (`node --expose-gc dist/bench/parse.js`).
 */
import { performance } from 'node:perf_hooks';
import { parseStages } from '../frontend/instructions/index.js';
import { parseDockerfile } from '../parser/index.js';
import { realworldCorpus } from './corpus.js';
import { generateDockerfile } from './generate.js';

type Convert = (source: string, file: string, buildArgs?: Record<string, string>) => void;

/** Parse + conversion to typed stages. */
const convert: Convert = (source, file, buildArgs = {}) => {
  parseStages(parseDockerfile(source, { file }), { buildArgs });
};

const gc = (globalThis as { gc?: () => void }).gc;

/** Median time of `fn` over at least `runs` runs and `minMs` milliseconds, after a warm-up run and a GC. */
function timeIt(fn: () => void, minMs = 500, runs = 5): number {
  fn();
  gc?.();
  const times: number[] = [];
  const begin = performance.now();
  while (times.length < runs || performance.now() - begin < minMs) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

function corpus(): void {
  const files = realworldCorpus(process.argv[2]);
  if (files === undefined) return;
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.source), 0);
  const lines = files.reduce((n, f) => n + f.source.split('\n').length, 0);
  const ms = timeIt(() => files.forEach((f) => convert(f.source, f.name, f.args)), 2000);
  console.log(
    `realworld corpus: ${files.length} Dockerfiles, ${lines} lines, ${(bytes / 1024).toFixed(0)} KiB: ` +
      `${ms.toFixed(1)} ms per pass, ${((files.length * 1000) / ms).toFixed(0)} files/s, ` +
      `${((lines * 1000) / ms / 1000).toFixed(0)}k lines/s`,
  );
}

function scaling(): void {
  const sizes = [2_000, 20_000, 200_000];
  const times: number[] = [];
  for (const size of sizes) {
    const source = generateDockerfile(size);
    const ms = timeIt(() => convert(source, 'generated'), 0, size >= 200_000 ? 3 : 7);
    times.push(ms);
    console.log(`generated ${size.toLocaleString('en')} lines: ${ms.toFixed(1)} ms`);
  }
  for (let i = 1; i < sizes.length; i++) {
    const ratio = (times[i] ?? 0) / (times[i - 1] ?? 1);
    const verdict = ratio < 12 ? 'linear' : 'SUPERLINEAR';
    console.log(
      `10x input (${sizes[i - 1]} -> ${sizes[i]} lines): ${ratio.toFixed(2)}x time (${verdict}, limit 12x)`,
    );
  }
}

corpus();
scaling();
