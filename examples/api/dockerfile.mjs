// Build a Dockerfile with tsbuild's Node API, as `tsbuild build -t hello examples/hello` does, and run
// the image. Run as root after `make demo` (which imports busybox:latest):
//   node examples/api/dockerfile.mjs [context-dir]
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from 'tsbuild';

const here = dirname(fileURLToPath(import.meta.url));
const context = resolve(process.argv[2] ?? join(here, '..', 'hello'));

// Dockerfile steps are named like `[build 2/4] RUN …`; `[internal] …` and `exporting …` are not steps.
const isStep = (name) => name.startsWith('[') && !name.startsWith('[internal]');

const engine = await createEngine();
try {
  let steps = 0;
  let cached = 0;
  // The request is plain data (the flags of `tsbuild build`); callbacks, signals and secrets go beside it.
  const request = { context, tags: ['hello:api'] };
  const result = await engine.build(request, {
    onProgress: (event) => {
      if (event.type === 'vertex.done' && isStep(event.name)) steps++;
      if (event.type === 'vertex.cached' && isStep(event.name)) cached++;
    },
  });
  console.log(
    `${result.names.join(', ')} ${result.imageID?.slice(0, 19)} (${steps} steps run, ${cached} cached)`,
  );
  const exitCode = await engine.run({
    image: 'hello:api',
    onOutput: (_stream, chunk) => process.stdout.write(chunk),
  });
  process.exitCode = exitCode;
} finally {
  await engine.close();
}
