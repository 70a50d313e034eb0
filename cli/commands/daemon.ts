/** `tsbuild daemon`: serves builds on the root's socket until SIGINT or SIGTERM. */
import { daemonSocketPath, serveDaemon } from '../../daemon/index.js';
import { build } from '../../engine/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export async function daemonCommand(globals: GlobalOptions): Promise<void> {
  await withEngine(
    globals,
    (engine, signal) =>
      serveDaemon({
        engine,
        build,
        socketPath: daemonSocketPath(engine.root),
        signal,
        log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
      }),
    { cancelOnSignal: true },
  );
}
