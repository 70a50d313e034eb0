// Containers with tsbuild's Node API, as `tsbuild run -d`, `exec`, `logs`, `stop` and `rm` do. Run as
// root after `make demo` (which imports busybox:latest):
//   node examples/api/containers.mjs
import { Buffer } from 'node:buffer';
import { createEngine } from 'tsbuild';

const text = (chunks) => Buffer.concat(chunks).toString('utf8');

const engine = await createEngine();
const { containers } = engine;
try {
  // A detached container (its own supervisor process keeps it), on the default bridge network.
  const { id } = await containers.run(
    { image: 'busybox', name: 'api-demo', cmd: ['sh', '-c', 'echo started; exec sleep 1000'] },
    { detach: true },
  );
  const info = await containers.inspect(id);
  console.log(`${info.record.name} ${info.state.status} ${info.state.networks[0]?.ipAddress ?? ''}`);

  const out = [];
  const { exitCode } = await containers.exec(
    id,
    { cmd: ['cat', '/etc/hostname'] },
    {
      onOutput: (_stream, chunk) => out.push(chunk),
    },
  );
  console.log(`exec: ${text(out).trim()} (exit ${exitCode})`);

  const logs = [];
  await containers.logs(id, { onOutput: (_stream, chunk) => logs.push(chunk) });
  console.log(`logs: ${text(logs).trim()}`);

  await containers.stop(id, { timeout: 1 });
  console.log(`stopped: exit ${(await containers.inspect(id)).state.exitCode}`);
  await containers.remove(id);

  // Attached, removed afterwards (`run --rm`): the exit code comes back.
  const run = await containers.run(
    { image: 'busybox', cmd: ['sh', '-c', 'exit 3'], autoRemove: true },
    { onOutput: (_stream, chunk) => process.stdout.write(chunk) },
  );
  console.log(
    `run --rm: exit ${run.exitCode}; containers left: ${(await containers.list({ all: true })).length}`,
  );
} finally {
  await engine.close();
}
