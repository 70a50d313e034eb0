/**
 * RUN --mount=type=cache without id=: the id is the target as written, cleaned as Go's path.Clean does
 * (BuildKit's dispatchRunMounts), so `/c/` and `/c` are one cache.
 */
import { describe, expect, it } from 'vitest';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ImageSpec } from '../../frontend/dockerfile2llb/index.js';
import type { CacheMount, ExecOp, Op } from '../../llb/index.js';

const busybox: ImageSpec = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] },
  history: [{ created_by: 'import' }],
};

interface Converted {
  readonly ops: readonly {
    readonly digest: string;
    readonly op: Op;
    readonly inputs: readonly { digest: string }[];
  }[];
}

async function convert(run: string): Promise<Converted> {
  const result = await convertDockerfile({
    source: `FROM busybox AS s\nRUN mkdir /cache /src\nFROM busybox\n${run}\n`,
    resolveImage: async (ref) => ({ ref: `docker.io/library/${ref}:latest`, config: busybox }),
  });
  return result.definition;
}

/** The last RUN's cache mount, and the op (if any) its input is. */
function cacheOf(def: Converted): { mount: CacheMount; seed: Op | undefined } {
  const execs = def.ops.filter((o) => o.op.kind === 'exec' && (o.op as ExecOp).mounts.length > 1);
  const vertex = execs[execs.length - 1];
  const mount = (vertex?.op as ExecOp).mounts.find((m): m is CacheMount => m.type === 'cache');
  if (vertex === undefined || mount === undefined) throw new Error('no cache mount');
  const input = mount.input < 0 ? undefined : vertex.inputs[mount.input];
  return { mount, seed: def.ops.find((o) => o.digest === input?.digest)?.op };
}

describe('a cache mount without id', () => {
  it('is keyed by its target cleaned as path.Clean does', async () => {
    const ids: string[] = [];
    for (const target of ['/c', '/c/', '/a/../c//', 'c/', './c']) {
      ids.push(cacheOf(await convert(`RUN --mount=type=cache,target=${target} true`)).mount.id);
    }
    expect(ids).toEqual(['/c', '/c', '/c', 'c', 'c']);
  });
});
