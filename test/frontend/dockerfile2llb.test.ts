import { describe, expect, it } from 'vitest';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ConvertOptions } from '../../frontend/dockerfile2llb/index.js';
import type { ImageConfig } from '../../oci/index.js';
import type { ExecOp, FileOp, Op } from '../../llb/index.js';

const busybox: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  history: [{ created_by: 'import' }],
};

function options(source: string, extra: Partial<ConvertOptions> = {}): ConvertOptions {
  return {
    source,
    resolveImage: async (ref) => {
      if (ref === 'missing') throw new Error('not found');
      const onbuild = ref === 'withonbuild' ? { OnBuild: ['RUN echo triggered'] } : {};
      return {
        ref: `docker.io/library/${ref}:latest`,
        config: { ...busybox, config: { ...busybox.config, ...onbuild } },
      };
    },
    ...extra,
  };
}

function ops(result: Awaited<ReturnType<typeof convertDockerfile>>): Op[] {
  return result.definition.ops.map((o) => o.op);
}

function execs(result: Awaited<ReturnType<typeof convertDockerfile>>): ExecOp[] {
  return ops(result).filter((op): op is ExecOp => op.kind === 'exec');
}

describe('dockerfile2llb', () => {
  it('starts from an empty runtime config when the base image has none', async () => {
    const { config: _config, ...bare } = busybox;
    const r = await convertDockerfile({
      source: 'FROM bare\nENV A=b\nCMD ["x"]',
      resolveImage: async () => ({ ref: 'docker.io/library/bare:latest', config: bare }),
    });
    expect(r.image.config.Env).toContain('A=b');
    expect(r.image.config.Cmd).toEqual(['x']);
  });

  it('RUN in shell and exec form with the image env, ARG in the env of later steps only', async () => {
    const r = await convertDockerfile(
      options('FROM busybox\nRUN echo one\nARG V=1\nRUN ["echo", "$V"]\nENV E=x\nRUN echo $E', {
        buildArgs: { V: '2' },
      }),
    );
    const [a, b, c] = execs(r).sort((x, y) => x.env.length - y.env.length);
    expect(a?.args).toEqual(['/bin/sh', '-c', 'echo one']);
    expect(a?.env).toEqual(['PATH=/usr/sbin:/usr/bin:/sbin:/bin']);
    expect(b?.args).toEqual(['echo', '$V']);
    expect(b?.env).toContain('V=2');
    expect(c?.env).toEqual(['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'V=2', 'E=x']);
    expect(r.image.config.Env).toEqual(['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'E=x']);
    const history = r.image.history?.map((h) => h.created_by);
    expect(history).toEqual([
      'import',
      'RUN /bin/sh -c echo one # buildkit',
      'ARG V=2',
      'RUN |1 V=2 echo $V # buildkit',
      'ENV E=x',
      'RUN |1 V=2 /bin/sh -c echo $E # buildkit',
    ]);
  });

  it('a changed build arg changes only the steps after its ARG', async () => {
    const text = 'FROM busybox\nRUN echo before\nARG V\nRUN echo after';
    const one = await convertDockerfile(options(text, { buildArgs: { V: '1' } }));
    const two = await convertDockerfile(options(text, { buildArgs: { V: '2' } }));
    const digests = (r: typeof one) => new Set(r.definition.ops.map((o) => o.digest));
    const a = digests(one);
    const b = digests(two);
    const shared = [...a].filter((d) => b.has(d));
    expect(shared.length).toBe(a.size - 1);
  });

  it('WORKDIR is relative to the previous one and creates the directory', async () => {
    const r = await convertDockerfile(options('FROM busybox\nWORKDIR /app\nWORKDIR sub\nRUN pwd'));
    expect(r.image.config.WorkingDir).toBe('/app/sub');
    const files = ops(r).filter((op): op is FileOp => op.kind === 'file');
    expect(files.map((f) => f.actions[0])).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'mkdir', path: '/app/sub', makeParents: true }),
      ]),
    );
    expect(execs(r)[0]?.cwd).toBe('/app/sub');
  });

  it('ENTRYPOINT resets an inherited CMD but not one set in the same stage', async () => {
    const a = await convertDockerfile(options('FROM busybox\nENTRYPOINT ["/bin/echo"]'));
    expect(a.image.config.Cmd).toBeNull();
    const b = await convertDockerfile(options('FROM busybox\nCMD ["x"]\nENTRYPOINT /bin/echo'));
    expect(b.image.config.Cmd).toEqual(['x']);
    expect(b.image.config.Entrypoint).toEqual(['/bin/sh', '-c', '/bin/echo']);
  });

  it('builds only the stages the target needs and names steps like BuildKit', async () => {
    const r = await convertDockerfile(
      options(
        'FROM busybox AS a\nRUN echo a\nFROM busybox AS b\nRUN echo b\nFROM busybox AS c\nCOPY --from=a /x /y\n',
        { target: 'c' },
      ),
    );
    const names = r.definition.ops.map((o) => o.metadata?.description?.['llb.customname']).filter(Boolean);
    expect(names).toContain('[a 2/2] RUN echo a');
    expect(names).not.toContain('[b 2/2] RUN echo b');
    expect(names).toContain('[c 2/2] COPY --from=a /x /y');
  });

  it('COPY --link merges a layer made on scratch', async () => {
    const r = await convertDockerfile(options('FROM busybox\nCOPY --link a.txt /dst/'));
    const kinds = ops(r).map((o) => o.kind);
    expect(kinds).toContain('merge');
    const file = ops(r).find((o): o is FileOp => o.kind === 'file');
    expect(file?.base).toBe(-1);
    expect(r.contextPaths).toEqual(['/a.txt']);
  });

  it('ONBUILD triggers of the base image run first', async () => {
    const r = await convertDockerfile(options('FROM withonbuild\nRUN echo mine'));
    const args = execs(r).map((e) => e.args[2]);
    expect(args).toEqual(expect.arrayContaining(['echo triggered', 'echo mine']));
    expect(r.image.config.OnBuild).toBeNull();
  });

  it('a RUN heredoc with a shebang runs as a file', async () => {
    const r = await convertDockerfile(options('FROM busybox\nRUN <<EOF\n#!/bin/sh\necho hi\nEOF\n'));
    const run = execs(r)[0];
    expect(run?.args).toEqual(['/bin/sh', '-c', '/dev/pipes/EOF']);
    expect(run?.mounts.some((m) => m.dest === '/dev/pipes/')).toBe(true);
  });

  it('proxy build args stay out of every op', async () => {
    const r = await convertDockerfile(
      options('FROM busybox\nRUN echo hi', { buildArgs: { HTTP_PROXY: 'http://127.0.0.1:3128' } }),
    );
    expect(JSON.stringify(r.definition)).not.toContain('3128');
    expect(r.proxyEnv).toEqual({ HTTP_PROXY: 'http://127.0.0.1:3128' });
  });

  it('errors point at the instruction', async () => {
    await expect(convertDockerfile(options('FROM busybox\n\nSTOPSIGNAL NOPE\n'))).rejects.toMatchObject({
      location: { range: { start: { line: 3 } } },
    });
    await expect(convertDockerfile(options('FROM busybox', { platform: 'linux/s390x' }))).rejects.toThrow(
      /cannot be built/,
    );
  });

  it('FROM --platform of another platform fails at its FROM line, only when the stage is needed', async () => {
    const text = 'FROM busybox AS ok\nRUN true\nFROM --platform=linux/s390x busybox AS other\nRUN true\n';
    await expect(convertDockerfile(options(text))).rejects.toMatchObject({
      message: expect.stringMatching(/linux\/s390x cannot be built/),
      location: { range: { start: { line: 3 } } },
    });
    await expect(convertDockerfile(options(text, { target: 'ok' }))).resolves.toBeDefined();
    const host = 'FROM --platform=$BUILDPLATFORM busybox\nRUN true\n';
    await expect(convertDockerfile(options(host))).resolves.toBeDefined();
  });

  it('an ADD of a URL or git repository gives its source op the ADD location', async () => {
    const r = await convertDockerfile(
      options('FROM busybox\nARG P=8080\nADD http://127.0.0.1:${P}/f.txt /f\nADD git://127.0.0.1/r.git /r\n'),
    );
    const sources = r.definition.ops.filter(
      (o) => o.op.kind === 'source' && !o.op.identifier.startsWith('image:'),
    );
    expect(
      sources.map((o) => [o.op.kind === 'source' && o.op.identifier, o.metadata?.location?.range.start.line]),
    ).toEqual(
      expect.arrayContaining([
        ['http:http://127.0.0.1:8080/f.txt', 3],
        ['git:git://127.0.0.1/r.git', 4],
      ]),
    );
  });

  it("HEALTHCHECK and CMD history texts are Go's %q of the values, as BuildKit writes them", async () => {
    const r = await convertDockerfile(
      options(
        'FROM busybox\nHEALTHCHECK --interval=30s --start-period=1m --retries=4 CMD curl -f "http://x/é"\n' +
          'HEALTHCHECK --retries=65 CMD ["/bin/true"]\nHEALTHCHECK NONE\nCMD ["a\\tb", "ü\\u001b"]\n',
      ),
    );
    expect(r.image.history?.slice(1).map((h) => h.created_by)).toEqual([
      'HEALTHCHECK &{["CMD-SHELL" "curl -f \\"http://x/é\\""] "30s" "0s" "1m0s" "0s" \'\\x04\'}',
      'HEALTHCHECK &{["CMD" "/bin/true"] "0s" "0s" "0s" "0s" \'A\'}',
      'HEALTHCHECK &{["NONE"] "0s" "0s" "0s" "0s" \'\\x00\'}',
      'CMD ["a\\tb" "ü\\x1b"]',
    ]);
    expect(r.image.config.Healthcheck).toEqual({ Test: ['NONE'] });
  });

  it('a base image that cannot be resolved fails at its FROM line', async () => {
    await expect(convertDockerfile(options('# c\nFROM missing\n'))).rejects.toMatchObject({
      location: { range: { start: { line: 2 } } },
    });
  });
});
