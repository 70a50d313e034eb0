import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJsonLog } from '../../runner/logs.js';
import { readJsonLog } from '../../runner/logs-read.js';
import { ExecFixture } from '../executor/helpers.js';

let fx: ExecFixture;
beforeAll(() => {
  fx = new ExecFixture();
});
afterAll(() => fx.cleanup());

describe('a real container into the json-file log', () => {
  it('writes what the process prints, per stream, read back as docker logs shows it', async () => {
    const path = join(fx.dir, 'container-json.log');
    const sink = openJsonLog(path);
    const result = await fx.executor.run(
      {
        rootfs: fx.shared,
        args: [
          'sh',
          '-c',
          'echo out1; echo err1 >&2; i=0; while [ $i -lt 300 ]; do echo "n$i"; i=$((i+1)); done; printf tail',
        ],
      },
      { onLog: (stream, chunk) => sink.write(stream, chunk) },
    );
    await sink.close();
    expect(result.exitCode).toBe(0);
    const out: Record<string, string> = { stdout: '', stderr: '' };
    const lines: string[] = [];
    await readJsonLog(path, {
      onOutput: (s, c) => {
        out[s] += Buffer.from(c).toString();
        lines.push(Buffer.from(c).toString());
      },
    });
    const numbers = Array.from({ length: 300 }, (_, i) => `n${i}\n`).join('');
    expect(out.stdout).toBe(`out1\n${numbers}tail`);
    expect(out.stderr).toBe('err1\n');
    // The two pipes are read independently: where err1 lands among the stdout lines is the log's order,
    // which tail follows.
    const tail: string[] = [];
    await readJsonLog(path, { tail: 2, onOutput: (_s, c) => tail.push(Buffer.from(c).toString()) });
    expect(tail).toEqual(lines.slice(-2));
    expect(tail[1]).toBe('tail');
  });
});
