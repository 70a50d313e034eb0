import { describe, expect, it } from 'vitest';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ConvertOptions } from '../../frontend/dockerfile2llb/index.js';
import type { ImageConfig } from '../../oci/index.js';
import type { ExecOp, FileOp } from '../../llb/index.js';

const busybox: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  history: [{ created_by: 'import' }],
};

function options(source: string, extra: Partial<ConvertOptions> = {}): ConvertOptions {
  return {
    source,
    resolveImage: async (ref) => ({ ref: `docker.io/library/${ref}:latest`, config: busybox }),
    ...extra,
  };
}

async function convert(source: string, extra: Partial<ConvertOptions> = {}) {
  const r = await convertDockerfile(options(source, extra));
  const ops = r.definition.ops.map((o) => o.op);
  return {
    r,
    execs: ops.filter((op): op is ExecOp => op.kind === 'exec'),
    files: ops.filter((op): op is FileOp => op.kind === 'file'),
  };
}

// Issue 10 item 7 asked for ARG names to be expanded, as BuildKit's ArgCommand.Expand once did (and as
// the BuildKit 0.8 of `make compat` does). Current BuildKit's dispatchArg expands only the default, since
// Dockerfile frontend 1.8 (moby/buildkit 47a52a17b): the name is taken as written. The current one wins.
describe('ARG names with variables (current BuildKit)', () => {
  it('takes the name as written: ARG ${name}=bar defines a variable called ${name}, not foo', async () => {
    const { r, execs } = await convert('FROM busybox\nENV name=foo\nARG ${name}=bar\nRUN echo $foo\n');
    expect(execs[0]?.env).toContain('${name}=bar');
    expect(execs[0]?.env).not.toContain('foo=bar');
    expect(r.image.history?.map((h) => h.created_by)).toContain('ARG ${name}=bar');
  });

  it('the default is still expanded', async () => {
    const { execs } = await convert('FROM busybox\nENV v=1\nARG N=${v}2\nRUN true\n');
    expect(execs[0]?.env).toContain('N=12');
  });

  it('a build arg matches the name as written', async () => {
    const { execs } = await convert('FROM busybox\nENV name=foo\nARG $name=bar\nRUN echo $foo\n', {
      buildArgs: { foo: 'cli', $name: 'literal' },
    });
    expect(execs[0]?.env).toContain('$name=literal');
    expect(execs[0]?.env).not.toContain('foo=cli');
  });

  it('a COPY source that expands to nothing copies the whole context, as in BuildKit', async () => {
    const { files } = await convert('FROM busybox\nENV name=x\nARG ${name}=a.txt\nCOPY ${x} /baz\n');
    expect(files[0]?.actions[0]).toMatchObject({ action: 'copy', srcPath: '/' });
  });
});
