/**
 * Conversion throughput: every Dockerfile of the realworld corpus converted to a definition (parse,
 * stages, dispatch, both passes), with a resolver that answers at once; wall and CPU time. Run after
 * `make build`: `node --expose-gc dist/bench/convert.js [corpus dir]`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { convertDockerfile } from '../frontend/dockerfile2llb/index.js';
import type { ImageSpec } from '../frontend/dockerfile2llb/index.js';
import { parseInstructions } from '../frontend/instructions/index.js';
import { parseDockerfile } from '../parser/index.js';

const base: ImageSpec = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] },
  history: [{ created_by: 'import' }],
};

/** Global ARGs without a default get a placeholder, as `--build-arg` would give them. */
function requiredArgs(source: string, file: string): Record<string, string> {
  const args: Record<string, string> = {};
  for (const instruction of parseInstructions(parseDockerfile(source, { file }))) {
    if (instruction.kind === 'from') break;
    if (instruction.kind !== 'arg') continue;
    for (const arg of instruction.args)
      if (arg.value === undefined) args[arg.key] = 'example.com/image:latest';
  }
  return args;
}

async function main(): Promise<void> {
  const root = resolve(process.argv[2] ?? resolve(process.cwd(), '..', 'shared', 'conformance', 'realworld'));
  if (!existsSync(root)) {
    console.log(`realworld corpus: not found at ${root}, skipped`);
    return;
  }
  const files = readdirSync(root)
    .filter((d) => statSync(resolve(root, d)).isDirectory())
    .map((d) => ({ name: d, source: readFileSync(resolve(root, d, 'Dockerfile'), 'utf8') }))
    .map((f) => ({ ...f, args: requiredArgs(f.source, f.name) }));
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
