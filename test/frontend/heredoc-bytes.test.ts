/**
 * Heredoc bodies with bytes that are not UTF-8 (issue 10 item 10). BuildKit writes the body of a heredoc
 * it does not expand as raw bytes (COPY/ADD <<"EOF", and a RUN heredoc run as a shebang file, whose
 * expansion it ignores); what goes through its shell lexer (COPY <<EOF) or encoding/json (RUN's command,
 * history, ONBUILD) gets one U+FFFD per bad byte. The bytes travel as escapes (core/utf8.ts) in the
 * mkfile data, and the definition's JSON keeps them.
 */
import { describe, expect, it } from 'vitest';
import { decodeUtf8Escaped } from '../../core/utf8.js';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ConvertOptions } from '../../frontend/dockerfile2llb/index.js';
import type { ImageConfig } from '../../oci/index.js';
import { marshal, unmarshal } from '../../llb/index.js';
import type { ExecOp, FileOp, MkfileAction } from '../../llb/index.js';

const busybox: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  history: [{ created_by: 'import' }],
};

/** A Dockerfile written in Latin-1: every `é` of `text` is the single byte 0xE9. */
function latin1(text: string): string {
  return decodeUtf8Escaped(Buffer.from(text, 'latin1'));
}

function options(source: string): ConvertOptions {
  return {
    source,
    resolveImage: async (ref) => ({ ref: `docker.io/library/${ref}:latest`, config: busybox }),
  };
}

type Result = Awaited<ReturnType<typeof convertDockerfile>>;

/** path → data of every mkfile action in the definition. */
function mkfiles(r: Result): Map<string, string> {
  const out = new Map<string, string>();
  for (const { op } of r.definition.ops) {
    if (op.kind !== 'file') continue;
    for (const a of (op as FileOp).actions) {
      if (a.action === 'mkfile') out.set((a as MkfileAction).path, (a as MkfileAction).data);
    }
  }
  return out;
}

function execs(r: Result): ExecOp[] {
  return r.definition.ops.map((o) => o.op).filter((op): op is ExecOp => op.kind === 'exec');
}

describe('heredoc bodies that are not UTF-8', () => {
  it('COPY and ADD keep the bytes of a quoted heredoc; an expanded one gets U+FFFD per byte', async () => {
    const r = await convertDockerfile(
      options(
        latin1(
          'FROM busybox\nENV N=x\nCOPY <<"RAW" /raw.txt\nJosé\nRAW\n' +
            "ADD <<-'TAB' /tab.txt\n\tMalé\nTAB\nCOPY <<EXP /exp.txt\nJosé $N\nEXP\n",
        ),
      ),
    );
    const files = mkfiles(r);
    expect(files.get('/RAW')).toBe('Jos\udce9\n');
    expect(files.get('/TAB')).toBe('Mal\udce9\n');
    expect(files.get('/EXP')).toBe('Jos\ufffd x\n');
    expect(JSON.stringify(r.image)).not.toMatch(/\\udc|\p{Cs}/u);
  });

  it('a RUN heredoc run as a shebang file keeps its bytes, quoted or not (BuildKit ignores expansion)', async () => {
    const r = await convertDockerfile(
      options(latin1('FROM busybox\nRUN <<EOF\n#!/bin/sh\necho José > /f\nEOF\n')),
    );
    expect(mkfiles(r).get('/EOF')).toBe('#!/bin/sh\necho Jos\udce9 > /f\n');
    expect(execs(r)[0]?.args).toEqual(['/bin/sh', '-c', '/dev/pipes/EOF']);
  });

  it("a RUN heredoc the shell runs as its command, and ONBUILD's text, get U+FFFD", async () => {
    const r = await convertDockerfile(
      options(
        latin1(
          "FROM busybox\nRUN <<'EOF'\necho José\nEOF\nRUN cat <<'X' > /f\nMalé\nX\n" +
            "ONBUILD COPY <<'T' /t\nTé\nT\n",
        ),
      ),
    );
    const args = execs(r).map((e) => e.args[2]);
    expect(args).toEqual(['echo Jos\ufffd\n', "cat <<'X' > /f\nMal\ufffd\nX"]);
    expect(mkfiles(r).size).toBe(0);
    expect(r.image.config.OnBuild).toEqual(["COPY <<'T' /t\nT\ufffd\nT"]);
    const history = r.image.history?.map((h) => h.created_by) ?? [];
    expect(history).toContain('RUN /bin/sh -c echo Jos\ufffd\n # buildkit');
    expect(JSON.stringify(r.image)).not.toMatch(/\\udc|\p{Cs}/u);
  });

  it("the definition's JSON carries the escapes and reads back the same", async () => {
    const r = await convertDockerfile(options(latin1('FROM busybox\nCOPY <<"RAW" /raw.txt\nJosé\nRAW\n')));
    const json = marshal(r.definition);
    expect(json).toContain('Jos\\udce9\\n');
    expect(mkfiles({ ...r, definition: unmarshal(json) }).get('/RAW')).toBe('Jos\udce9\n');
  });
});
