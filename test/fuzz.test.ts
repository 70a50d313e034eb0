/**
 * Acceptance: 20,000 mutated Dockerfiles (from BuildKit's testfiles and the realworld corpus) go through
 * parse and conversion. Every failure must be a located TsbuildError; no other exception, and no input may
 * take longer than the per-input limit (a hang is caught by a watchdog and the input written to a file).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { FuzzOutcome } from '../bench/fuzz-worker.js';
import { mutate, prng } from '../bench/mutate.js';
import { canRunSuite } from './helpers/prereq.js';
import { conformance, repoRoot } from './helpers/shared.js';

const hasConformance = canRunSuite('fuzz: parse and convert', { conformance: true });

const COUNT = Number(process.env.TSBUILD_FUZZ_COUNT ?? 20_000);
const SEED = Number(process.env.TSBUILD_FUZZ_SEED ?? 20261122);
const PER_INPUT_LIMIT_MS = 2_000;
const workerPath = resolve(repoRoot, 'dist/bench/fuzz-worker.js');

function seeds(): string[] {
  const out: string[] = [];
  const dir = conformance('buildkit/frontend/dockerfile/parser/testfiles');
  for (const d of readdirSync(dir)) out.push(readFileSync(join(dir, d, 'Dockerfile'), 'utf8'));
  const rw = conformance('realworld');
  for (const d of readdirSync(rw)) {
    if (statSync(join(rw, d)).isDirectory()) out.push(readFileSync(join(rw, d, 'Dockerfile'), 'utf8'));
  }
  return out;
}

function runWorker(inputs: string[]): Promise<FuzzOutcome[]> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(workerPath);
    const outcomes: FuzzOutcome[] = [];
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const input = inputs[outcomes.length] ?? '';
        const file = join(tmpdir(), `tsbuild-fuzz-hang-${SEED}-${outcomes.length}.Dockerfile`);
        writeFileSync(file, input);
        void worker.terminate();
        reject(new Error(`input ${outcomes.length} took over ${PER_INPUT_LIMIT_MS} ms; written to ${file}`));
      }, PER_INPUT_LIMIT_MS);
    };
    worker.on('message', (outcome: FuzzOutcome) => {
      outcomes.push(outcome);
      if (outcomes.length === inputs.length) {
        clearTimeout(timer);
        void worker.terminate();
        resolvePromise(outcomes);
      } else arm();
    });
    worker.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    arm();
    worker.postMessage(inputs);
  });
}

describe.skipIf(!hasConformance)('fuzz: parse and convert', () => {
  it(`${COUNT} mutated Dockerfiles fail only with located tsbuild errors (seed ${SEED})`, async () => {
    expect(existsSync(workerPath), `${workerPath} is missing: run \`make build\` first`).toBe(true);
    const donors = seeds();
    const rand = prng(SEED);
    const inputs = Array.from({ length: COUNT }, (_, i) =>
      mutate(donors[i % donors.length] ?? '', rand, donors),
    );
    const outcomes = await runWorker(inputs);
    const defects = outcomes.filter((o) => o.kind === 'unlocated' || o.kind === 'foreign');
    for (const d of defects.slice(0, 5)) {
      const file = join(tmpdir(), `tsbuild-fuzz-${SEED}-${d.index}.Dockerfile`);
      writeFileSync(file, inputs[d.index] ?? '');
      console.error(`fuzz defect (input in ${file}): ${d.detail}`);
    }
    const counts = { ok: 0, located: 0 };
    for (const o of outcomes) if (o.kind === 'ok' || o.kind === 'located') counts[o.kind]++;
    console.log(`fuzz: ${outcomes.length} inputs, ${counts.ok} converted, ${counts.located} located errors`);
    expect(defects).toEqual([]);
    expect(outcomes).toHaveLength(COUNT);
    expect(counts.ok).toBeGreaterThan(COUNT / 10);
    expect(counts.located).toBeGreaterThan(COUNT / 10);
  }, 600_000);
});
