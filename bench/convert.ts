/**
 * Conversion throughput: every Dockerfile of the realworld corpus converted to a definition (parse,
 * stages, dispatch, both passes), with a resolver that answers at once; wall and CPU time. Run after
 * `make build`: `node --expose-gc dist/bench/convert.js [corpus dir]`.
 */
import { performance } from 'node:perf_hooks';
import { convertDockerfile } from '../frontend/dockerfile2llb/index.js';
import type { ImageConfig } from '../oci/index.js';
import { realworldCorpus } from './corpus.js';

const base: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  history: [{ created_by: 'import' }],
};

async function main(): Promise<void> {
  const files = realworldCorpus(process.argv[2]);
  if (files === undefined) return;
  let failed = 0;
  const once = async (): Promise<void> => {
    failed = 0;
    for (const f of files) {
      await convertDockerfile({
        source: f.source,
        file: f.name,
        buildArgs: f.args,
        resolveImage: async (ref) => ({ ref, config: base }),
      }).catch(() => failed++);
    }
  };
  await once();
  const gc = (globalThis as { gc?: () => void }).gc;
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < 15; i++) {
    gc?.();
    const start = performance.now();
    const used = process.cpuUsage();
    await once();
    times.push(performance.now() - start);
    const { user, system } = process.cpuUsage(used);
    cpu.push((user + system) / 1000);
  }
  const median = (values: number[]): number =>
    values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  console.log(
    `realworld corpus: ${files.length} Dockerfiles (${failed} refused) converted in ${median(times).toFixed(1)} ms, ` +
      `${median(cpu).toFixed(1)} ms of CPU (medians of ${times.length})`,
  );
}

await main();
