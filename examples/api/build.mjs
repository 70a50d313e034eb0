// Build with tsbuild's Node API: an llb graph on the busybox image, a RUN step, a COPY from a local
// directory, then read the result. Run as root after `make demo` (which imports busybox:latest):
//   node examples/api/build.mjs [context-dir]
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine, llb } from 'tsbuild';

const context = resolve(process.argv[2] ?? dirname(fileURLToPath(import.meta.url)));

const definition = llb
  .image('busybox:latest')
  .run('echo "built by tsbuild on $(uname -m)" > /built.txt')
  .file(llb.copy(llb.local('context'), '/build.mjs', '/src/build.mjs', { createDestPath: true }))
  .run('wc -l /src/build.mjs > /lines.txt')
  .toDefinition();

const engine = await createEngine();
try {
  const events = [];
  const result = await engine.solve(definition, {
    locals: { context },
    onProgress: (event) => events.push(event),
  });
  const cached = events.filter((e) => e.type === 'vertex.cached').length;
  console.log(`result snapshot ${result.snapshot} (${cached} steps cached)`);
  await engine.withSnapshotDir(result.snapshot, async (dir) => {
    process.stdout.write(await readFile(join(dir, 'built.txt'), 'utf8'));
    process.stdout.write(await readFile(join(dir, 'lines.txt'), 'utf8'));
  });
} finally {
  await engine.close();
}
