import { describe, expect, it } from 'vitest';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ConvertOptions, ImageSpec } from '../../frontend/dockerfile2llb/index.js';
import type { ExecOp, FileOp } from '../../llb/index.js';

const busybox: ImageSpec = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] },
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

// BuildKit's ArgCommand.Expand expands the name as well as the default (the Dockerfile frontend of
// dockerd 20.10, which `make compat` runs, dispatches it; see the report of issue 10 item 7).
describe('ARG names with variables', () => {
  it('expands the name with the stage environment', async () => {
    const { r, execs } = await convert('FROM busybox\nENV name=foo\nARG ${name}=bar\nRUN echo $foo\n');
    expect(execs[0]?.env).toContain('foo=bar');
    expect(execs[0]?.env).not.toContain('${name}=bar');
    expect(r.image.history?.map((h) => h.created_by)).toContain('ARG foo=bar');
  });

  it('a build arg of the expanded name wins over the default', async () => {
    const { execs } = await convert('FROM busybox\nENV name=foo\nARG $name=bar\nRUN echo $foo\n', {
      buildArgs: { foo: 'cli' },
    });
    expect(execs[0]?.env).toContain('foo=cli');
  });

  it('a COPY source named by such an ARG is its value', async () => {
    const { files } = await convert('FROM busybox\nENV name=x\nARG ${name}=a.txt\nCOPY ${x} /baz\n');
    expect(JSON.stringify(files[0])).toContain('"/a.txt"');
  });

  it('a name that expands to nothing is refused at the ARG', async () => {
    await expect(convert('FROM busybox\nARG ${nothing}=bar\n')).rejects.toMatchObject({
      code: 'DOCKERFILE_ERROR',
      message: expect.stringMatching(/ARG name.*empty/),
      location: { range: { start: { line: 2 } } },
    });
  });
});
