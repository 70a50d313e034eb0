/**
 * RUN --mount=type=cache with uid, gid or mode: as BuildKit's frontend does, the cache starts from a
 * /cache directory made with them (on scratch, or on the from state), so that the cache (keyed by its id
 * and its seed) is another one than the same id without them; with source= they change nothing. Without
 * id=, the id is the target cleaned as Go's path.Clean does, so `/c/` and `/c` are one cache.
 */
import { describe, expect, it } from 'vitest';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ImageConfig } from '../../oci/index.js';
import type { CacheMount, ExecOp, FileOp, Op } from '../../llb/index.js';

const busybox: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
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

describe('cache mounts with an owner or a mode', () => {
  it('start from a /cache directory made with them on scratch', async () => {
    const { mount, seed } = cacheOf(await convert('RUN --mount=type=cache,target=/c,uid=10,mode=0700 true'));
    expect(mount).toMatchObject({ id: '/c', selector: '/cache' });
    expect(seed?.kind).toBe('file');
    const file = seed as FileOp;
    expect(file.base).toBe(-1);
    expect(file.actions).toEqual([
      { action: 'mkdir', path: '/cache', mode: 0o700, makeParents: false, chown: { user: 10, group: 0 } },
    ]);
  });

  it('spelled-out defaults are a seed too; none is no seed', async () => {
    const spelled = cacheOf(await convert('RUN --mount=type=cache,target=/c,mode=0755 true'));
    expect((spelled.seed as FileOp).actions[0]).toMatchObject({ mode: 0o755, chown: { user: 0, group: 0 } });
    const plain = cacheOf(await convert('RUN --mount=type=cache,target=/c true'));
    expect(plain.mount.input).toBe(-1);
    expect(plain.mount.selector).toBeUndefined();
  });

  it('make the directory on the from state; with source= they add nothing', async () => {
    const onStage = cacheOf(await convert('RUN --mount=type=cache,target=/c,from=s,gid=5 true'));
    expect(onStage.mount.selector).toBe('/cache');
    expect((onStage.seed as FileOp).base).toBe(0);
    const withSource = cacheOf(
      await convert('RUN --mount=type=cache,target=/c,from=s,source=/src,uid=3 true'),
    );
    expect(withSource.mount.selector).toBe('/src');
    expect(withSource.seed?.kind).toBe('exec');
  });
});

// BuildKit's default id (dispatchRunMounts): the target as written, cleaned as Go's path.Clean does.
describe('a cache mount without id', () => {
  it('is keyed by its target cleaned as path.Clean does', async () => {
    const ids: string[] = [];
    for (const target of ['/c', '/c/', '/a/../c//', 'c/', './c']) {
      ids.push(cacheOf(await convert(`RUN --mount=type=cache,target=${target} true`)).mount.id);
    }
    expect(ids).toEqual(['/c', '/c', '/c', 'c', 'c']);
  });
});
