/**
 * The progress renderers: fake event sequences into a fake stream, the clock injected. Plain output
 * (numbering, cached, errors, every log byte with no clipping, partial lines, byte progress throttling,
 * the log file), rawjson round trips, tty frames, quiet, warnings, mode selection; and, with the real
 * parts, a solve in runc rendered as plain text.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ProgressEvent } from '../../core/progress.js';
import { InvalidArgumentError } from '../../core/errors.js';
import {
  Ring,
  TtyRenderer,
  createRenderer,
  formatBytes,
  parseProgressMode,
  resolveMode,
  truncate,
} from '../../cli/progress/index.js';
import { importRootfs, openEngine, solve } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

class FakeStream extends Writable {
  readonly chunks: Buffer[] = [];
  columns: number | undefined;
  rows: number | undefined;
  isTTY: boolean | undefined;

  constructor(tty?: { columns: number; rows?: number }) {
    super({
      write: (chunk: Buffer, _encoding, callback) => {
        this.chunks.push(Buffer.from(chunk));
        callback();
      },
    });
    if (tty !== undefined) {
      this.isTTY = true;
      this.columns = tty.columns;
      this.rows = tty.rows;
    }
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const T0 = 1_700_000_000_000;
const D = (n: number): string => `sha256:${String(n).padStart(64, '0')}`;

const started = (n: number, name: string, t: number): ProgressEvent => ({
  type: 'vertex.started',
  digest: D(n),
  name,
  time: T0 + t,
});
const done = (n: number, name: string, t0: number, t1: number): ProgressEvent => ({
  type: 'vertex.done',
  digest: D(n),
  name,
  started: T0 + t0,
  completed: T0 + t1,
  durationMs: t1 - t0,
});
const cached = (n: number, name: string, t: number): ProgressEvent => ({
  type: 'vertex.cached',
  digest: D(n),
  name,
  time: T0 + t,
  key: 'sha256:key',
});
const failed = (
  n: number,
  name: string,
  t0: number,
  t1: number,
  error: string,
  cancelled = false,
): ProgressEvent => ({
  type: 'vertex.error',
  digest: D(n),
  name,
  started: T0 + t0,
  completed: T0 + t1,
  durationMs: t1 - t0,
  error,
  cancelled,
});
const log = (
  n: number,
  data: string | Buffer,
  t: number,
  stream: 'stdout' | 'stderr' = 'stdout',
): ProgressEvent => ({
  type: 'log',
  digest: D(n),
  stream,
  data: Buffer.from(data).toString('base64'),
  time: T0 + t,
});
const bytes = (
  n: number,
  id: string,
  current: number,
  total: number | undefined,
  t: number,
): ProgressEvent => ({
  type: 'progress',
  digest: D(n),
  id,
  current,
  ...(total === undefined ? {} : { total }),
  time: T0 + t,
});
const warning = (message: string, detail?: string): ProgressEvent => ({
  type: 'warning',
  message,
  ...(detail === undefined ? {} : { detail }),
  time: T0,
});

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

const tmp = mkdtempSync(join(tmpdir(), 'tsbuild-progress-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('plain', () => {
  it('numbers vertices in order of first appearance and prints buildx-style lines', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    const w = r.writer;
    w.write(started(1, '[internal] load build definition from Dockerfile', 0));
    w.write(done(1, '[internal] load build definition from Dockerfile', 0, 12));
    w.write(started(2, '[base 1/3] FROM docker.io/library/busybox:latest', 20));
    w.write(done(2, '[base 1/3] FROM docker.io/library/busybox:latest', 20, 1220));
    w.write(started(3, '[stage-1 2/5] RUN make', 1300));
    w.write(log(3, 'hello\nworld\n', 1423));
    w.write(done(3, '[stage-1 2/5] RUN make', 1300, 2500));
    await r.close({});
    expect(r.mode).toBe('plain');
    expect(out.text).toBe(
      [
        '#1 [internal] load build definition from Dockerfile',
        '#1 DONE 0.0s',
        '',
        '#2 [base 1/3] FROM docker.io/library/busybox:latest',
        '#2 DONE 1.2s',
        '',
        '#3 [stage-1 2/5] RUN make',
        '#3 0.123 hello',
        '#3 0.123 world',
        '#3 DONE 1.2s',
        '',
      ].join('\n'),
    );
  });

  it('prints CACHED for a cache hit', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    r.writer.write(cached(7, '[stage-1 1/5] RUN apk add make', 0));
    r.writer.write(started(8, 'exporting to image', 5));
    r.writer.write(done(8, 'exporting to image', 5, 105));
    await r.close({});
    expect(out.text).toBe(
      '#1 [stage-1 1/5] RUN apk add make\n#1 CACHED\n\n#2 exporting to image\n#2 DONE 0.1s\n',
    );
  });

  it('prints ERROR with the message and CANCELED for a cancelled vertex', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    r.writer.write(started(1, '[a 1/2] RUN false', 0));
    r.writer.write(started(2, '[b 1/2] RUN sleep 10', 1));
    r.writer.write(log(1, 'oops\n', 50, 'stderr'));
    r.writer.write(failed(1, '[a 1/2] RUN false', 0, 100, 'process "/bin/sh -c false" exited with 1'));
    r.writer.write(failed(2, '[b 1/2] RUN sleep 10', 1, 120, 'cancelled', true));
    await r.close({ error: new Error('failed') });
    expect(out.text).toBe(
      [
        '#1 [a 1/2] RUN false',
        '#1 ...',
        '',
        '#2 [b 1/2] RUN sleep 10',
        '#2 ...',
        '',
        '#1 [a 1/2] RUN false',
        '#1 0.050 oops',
        '#1 ERROR: process "/bin/sh -c false" exited with 1',
        '',
        '#2 [b 1/2] RUN sleep 10',
        '#2 CANCELED',
        '',
      ].join('\n'),
    );
  });

  it('prints every line of a 10,000-line log, in order, also into the log file', async () => {
    const out = new FakeStream();
    const logFile = join(tmp, 'nested', 'dir', 'build.log');
    const r = createRenderer({ mode: 'plain', out, logFile, now: () => T0 });
    r.writer.write(started(1, '[2/2] RUN seq 10000', 0));
    const all = Array.from({ length: 10_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 300)}\n`).join('');
    // Chunks that cut lines (and a multi-byte character) anywhere.
    const data = Buffer.from(all + 'tail é without newline');
    for (let at = 0, size = 1; at < data.length; at += size, size = ((size * 7 + 3) % 4093) + 1) {
      r.writer.write(log(1, data.subarray(at, at + size), 1000));
    }
    r.writer.write(done(1, '[2/2] RUN seq 10000', 0, 2000));
    await r.close({});
    const lines = out.text.split('\n');
    expect(lines[0]).toBe('#1 [2/2] RUN seq 10000');
    for (let i = 0; i < 10_000; i++) expect(lines[i + 1]).toBe(`#1 1.000 line ${i} ${'x'.repeat(i % 300)}`);
    expect(lines[10_001]).toBe('#1 1.000 tail é without newline');
    expect(lines[10_002]).toBe('#1 DONE 2.0s');
    expect(readFileSync(logFile, 'utf8')).toBe(out.text);
  });

  it('flushes a trailing partial line when the vertex ends, per stream, with its first chunk time', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    r.writer.write(started(1, 'RUN printf', 0));
    r.writer.write(log(1, 'no newline', 10));
    r.writer.write(log(1, 'err', 20, 'stderr'));
    r.writer.write(log(1, ' yet', 30));
    r.writer.write(done(1, 'RUN printf', 0, 40));
    await r.close({});
    expect(out.text).toBe('#1 RUN printf\n#1 0.010 no newline yet\n#1 0.020 err\n#1 DONE 0.0s\n');
  });

  it('flushes partial lines of vertices that never ended at close', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    r.writer.write(started(1, 'RUN x', 0));
    r.writer.write(log(1, 'half', 5));
    await r.close({ error: new Error('killed') });
    expect(out.text).toBe('#1 RUN x\n#1 0.005 half\n');
  });

  it('keeps output bytes that are not UTF-8 exactly', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    r.writer.write(started(1, 'RUN bin', 0));
    r.writer.write(log(1, Buffer.from([0xff, 0xfe, 0x0a, 0x80]), 0));
    r.writer.write(done(1, 'RUN bin', 0, 1));
    await r.close({});
    const expected = Buffer.concat([
      Buffer.from('#1 RUN bin\n#1 0.000 '),
      Buffer.from([0xff, 0xfe, 0x0a]),
      Buffer.from('#1 0.000 '),
      Buffer.from([0x80, 0x0a]),
      Buffer.from('#1 DONE 0.0s\n'),
    ]);
    expect(Buffer.concat(out.chunks).equals(expected)).toBe(true);
  });

  it('prints byte progress at most once a second per id, and done when complete', async () => {
    const out = new FakeStream();
    let clock = T0;
    const r = createRenderer({ mode: 'plain', out, now: () => clock });
    const id = 'sha256:abcd';
    r.writer.write(started(1, '[base 1/3] FROM docker.io/library/busybox:latest', 0));
    const steps: [number, number][] = [
      [0, 100_000],
      [200, 500_000],
      [900, 1_200_000],
      [1000, 1_300_000],
      [1500, 2_000_000],
      [2100, 2_500_000],
      [2200, 3_400_000],
      [2300, 3_400_000],
    ];
    for (const [t, current] of steps) {
      clock = T0 + t;
      r.writer.write(bytes(1, id, current, 3_400_000, t));
      if (t === 200) r.writer.write(bytes(1, 'sha256:other', 10, undefined, t));
    }
    r.writer.write(done(1, '[base 1/3] FROM docker.io/library/busybox:latest', 0, 2400));
    await r.close({});
    expect(out.text).toBe(
      [
        '#1 [base 1/3] FROM docker.io/library/busybox:latest',
        // As BuildKit: the time only past 10 ms.
        '#1 sha256:abcd 100kB / 3.4MB',
        '#1 sha256:other 10B',
        '#1 sha256:abcd 1.3MB / 3.4MB 1.0s',
        '#1 sha256:abcd 2.5MB / 3.4MB 2.1s',
        '#1 sha256:abcd 3.4MB / 3.4MB 2.2s done',
        '#1 sha256:other 10B done',
        '#1 DONE 2.4s',
        '',
      ].join('\n'),
    );
  });

  it('prints the phases of a vertex under it, as BuildKit prints exporting to image', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 + 500 });
    const phase = (id: string, started: number, completed?: number): ProgressEvent => ({
      type: 'progress',
      digest: D(1),
      id,
      current: 0,
      time: T0 + (completed ?? started),
      started: T0 + started,
      ...(completed !== undefined ? { completed: T0 + completed } : {}),
    });
    r.writer.write(started(1, 'exporting to image', 0));
    r.writer.write(phase('exporting layers', 0));
    r.writer.write(phase('exporting layers', 0, 200));
    r.writer.write(phase('writing image sha256:1234', 200));
    r.writer.write(phase('writing image sha256:1234', 200, 205));
    r.writer.write(phase('naming to docker.io/library/app:latest', 205, 206));
    r.writer.write(done(1, 'exporting to image', 0, 210));
    await r.close({});
    expect(out.text).toBe(
      [
        '#1 exporting to image',
        '#1 exporting layers',
        '#1 exporting layers 0.2s done',
        '#1 writing image sha256:1234',
        '#1 writing image sha256:1234 done',
        '#1 naming to docker.io/library/app:latest done',
        '#1 DONE 0.2s',
        '',
      ].join('\n'),
    );
  });

  it('prints warnings at the end like buildx', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    r.writer.write(warning('JSONArgsRecommended: JSON arguments recommended for CMD (line 3)', 'the rule'));
    r.writer.write(warning('SecretsUsedInArgOrEnv: do not use ARG for secrets'));
    await r.close({});
    expect(out.text).toBe(
      '\n 2 warnings found (use --check to expand):\n - JSONArgsRecommended: JSON arguments recommended for CMD (line 3)\n' +
        ' - SecretsUsedInArgOrEnv: do not use ARG for secrets\n',
    );
  });

  it('prints a warning about a vertex under it (#N WARN:), as BuildKit, and again in the summary', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    r.writer.write(cached(1, '[internal] load build definition from Dockerfile', 0));
    r.writer.write({
      ...warning("FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)"),
      digest: D(1),
    });
    await r.close({});
    expect(out.text).toBe(
      '#1 [internal] load build definition from Dockerfile\n#1 CACHED\n' +
        "#1 WARN: FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)\n" +
        "\n 1 warning found (use --check to expand):\n - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)\n",
    );
  });

  it('appends to an existing log file', async () => {
    const logFile = join(tmp, 'append.log');
    for (const name of ['first', 'second']) {
      const r = createRenderer({ mode: 'quiet', out: new FakeStream(), logFile, now: () => T0 });
      r.writer.write(cached(1, name, 0));
      await r.close({});
    }
    expect(readFileSync(logFile, 'utf8')).toBe('#1 first\n#1 CACHED\n#1 second\n#1 CACHED\n');
  });

  it('fails with FAILED_PRECONDITION when the log file cannot be created', () => {
    expect(() =>
      createRenderer({ mode: 'plain', out: new FakeStream(), logFile: '/proc/nonexistent/x/build.log' }),
    ).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION' }));
  });
});

describe('log file errors', () => {
  it.skipIf(!existsSync('/dev/full'))(
    'a log file that cannot be written fails close after a good build, and only warns after a failed one',
    async () => {
      for (const error of [undefined, new Error('build failed')]) {
        const out = new FakeStream();
        const r = createRenderer({ mode: 'plain', out, logFile: '/dev/full', now: () => T0 });
        r.writer.write(cached(1, 'a', 0));
        const closed = r.close(error === undefined ? {} : { error });
        if (error === undefined) await expect(closed).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
        else await closed;
        expect(out.text).toMatch(/^#1 a\n#1 CACHED\nWARNING: writing the progress log \/dev\/full failed: /);
      }
    },
  );
});

describe('rawjson', () => {
  it('writes each event as one JSON line that parses back to the event', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'rawjson', out, now: () => T0 });
    const events = [
      started(1, '[1/2] RUN echo "hi"\n', 0),
      log(1, 'hi\n\u00e9', 5, 'stderr'),
      bytes(1, 'sha256:x', 5, 10, 6),
      warning('w', 'd'),
      done(1, '[1/2] RUN echo "hi"\n', 0, 10),
      failed(2, 'x', 0, 1, 'boom'),
    ];
    for (const e of events) {
      r.writer.write(e);
      expect(out.text.endsWith('\n')).toBe(true); // flushed as it comes
    }
    await r.close({});
    const lines = out.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(events);
  });
});

describe('quiet', () => {
  it('prints nothing while building and only warnings at close', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'quiet', out, now: () => T0 });
    r.writer.write(started(1, 'RUN x', 0));
    r.writer.write(log(1, 'output\n', 1));
    r.writer.write(done(1, 'RUN x', 0, 10));
    expect(out.text).toBe('');
    await r.close({});
    expect(out.text).toBe('');

    const out2 = new FakeStream();
    const r2 = createRenderer({ mode: 'quiet', out: out2, now: () => T0 });
    r2.writer.write(warning('something odd'));
    await r2.close({});
    expect(out2.text).toBe('WARNING: something odd\n');
  });
});

describe('tty', () => {
  afterEach(() => vi.useRealTimers());

  /** The frames written so far, split at the cursor-up movements that start each redraw. */
  const frames = (out: FakeStream): string[] =>
    out.text
      .split(/(?=\x1b\[\d+A)/) // eslint-disable-line no-control-regex
      .map((f) => stripAnsi(f).replace(/\r/g, ''));

  it('redraws a header and one line per vertex, with the last log lines of running vertices', async () => {
    vi.useFakeTimers();
    let clock = T0;
    const out = new FakeStream({ columns: 80, rows: 40 });
    const r = createRenderer({ mode: 'auto', out, now: () => clock, env: { TERM: 'xterm' } });
    expect(r.mode).toBe('tty');
    r.writer.write(started(1, '[internal] load build definition from Dockerfile', 0));
    r.writer.write(done(1, '[internal] load build definition from Dockerfile', 0, 30));
    r.writer.write(cached(2, '[base 1/3] FROM docker.io/library/busybox:latest', 40));
    r.writer.write(started(3, '[stage 2/5] RUN make', 50));
    for (let i = 0; i < 20; i++) r.writer.write(log(3, `compiling ${i}.c\n`, 60));
    r.writer.write(bytes(3, 'sha256:abcd', 1_200_000, 3_400_000, 60));
    clock = T0 + 1350;
    vi.advanceTimersByTime(100);
    const first = frames(out).at(-1) ?? '';
    expect(first).toContain('[+] Building 1.4s (2/3)');
    expect(first).toMatch(/ => \[internal\] load build definition from Dockerfile +0\.0s\n/);
    expect(first).toMatch(/ => CACHED \[base 1\/3\] FROM docker\.io\/library\/busybox:latest +0\.0s\n/);
    expect(first).toMatch(/ => \[stage 2\/5\] RUN make +1\.3s\n/);
    expect(first).toMatch(/ => => sha256:abcd 1\.2MB \/ 3\.4MB +0\.0s\n/);
    for (let i = 14; i < 20; i++) expect(first).toContain(` => # compiling ${i}.c\n`);
    expect(first).not.toContain('compiling 13.c');
    for (const line of first.split('\n')) expect(line.length).toBeLessThan(80);

    // No new frame within the interval; a new one after it, moving the cursor back up.
    const count = out.chunks.length;
    r.writer.write(log(3, 'linking\n', 70));
    vi.advanceTimersByTime(50);
    expect(out.chunks.length).toBe(count);
    clock += 100;
    vi.advanceTimersByTime(60);
    expect(out.chunks.length).toBe(count + 1);
    const lines = first.split('\n').length - 1;
    expect(out.chunks.at(-1)?.toString()).toMatch(new RegExp(`^\\x1b\\[${lines}A`));

    r.writer.write(done(3, '[stage 2/5] RUN make', 50, 1500));
    r.writer.write(started(4, 'exporting to image', 1500));
    r.writer.write(done(4, 'exporting to image', 1500, 1700));
    clock = T0 + 1800;
    await r.close({});
    const last = frames(out).at(-1) ?? '';
    expect(last).toContain('[+] Building 1.8s (4/4) FINISHED');
    expect(last).toMatch(/ => \[stage 2\/5\] RUN make +1\.4s\n/);
    expect(last).toMatch(/ => exporting to image +0\.2s\n/);
    expect(last).not.toContain('# ');
    // The header, four vertices, and the transfer that stays listed under its vertex (as in BuildKit).
    expect(last).toMatch(/ => => sha256:abcd 1\.2MB \/ 3\.4MB +0\.0s\n/);
    expect(last.trim().split('\n')).toHaveLength(6);
  });

  it('shows ERROR and CANCELED lines and no FINISHED when the build failed', async () => {
    const out = new FakeStream({ columns: 100 });
    const r = createRenderer({ mode: 'tty', out, now: () => T0 + 500 });
    r.writer.write(started(1, '[a 1/1] RUN false', 0));
    r.writer.write(failed(1, '[a 1/1] RUN false', 0, 300, 'exit 1'));
    r.writer.write(failed(2, '[b 1/1] RUN sleep 9', 0, 300, 'cancelled', true));
    await r.close({ error: new Error('build failed') });
    const last = frames(out).at(-1) ?? '';
    expect(last).toMatch(/\[\+\] Building \d+\.\ds \(2\/2\)\n/);
    expect(last).toMatch(/ => ERROR \[a 1\/1\] RUN false +0\.3s\n/);
    expect(last).toMatch(/ => CANCELED \[b 1\/1\] RUN sleep 9 +0\.3s\n/);
    expect(out.text).toContain('\x1b[31m'); // errors in red
  });

  it('truncates to the current width, cleans control characters, and follows a resize', () => {
    let clock = T0;
    const out = new FakeStream({ columns: 40 });
    const tty = new TtyRenderer({ out, now: () => clock, color: false });
    tty.write(started(1, `[x 1/1] RUN ${'long '.repeat(20)}`, 0));
    tty.write(log(1, `\x1b[32mgreen\x1b[0m\ttab ${'y'.repeat(100)}\n50%\r100%\n`, 1));
    const frame = tty.frame(40, false);
    for (const line of frame) expect(line.length).toBeLessThanOrEqual(39);
    expect(frame[1]).toMatch(/^ => \[x 1\/1\] RUN long long .*…\s+0\.0s$/);
    expect(frame[2]).toMatch(/^ => # green {4}tab y+…$/);
    expect(frame[3]).toBe(' => # 100%');
    clock += 200;
    tty.tick();
    out.columns = 20;
    clock += 200;
    tty.tick();
    // The previous frame (header 23 columns, two lines of 39, one of 10) takes 2+2+2+1 rows at 20.
    expect(out.chunks.at(-1)?.toString().startsWith('\x1b[7A')).toBe(true);
    tty.close();
  });

  it('keeps a live frame within the screen height: finished vertices go first, then log lines', () => {
    const out = new FakeStream({ columns: 80, rows: 6 });
    const tty = new TtyRenderer({ out, now: () => T0, color: false });
    for (let i = 1; i <= 10; i++) tty.write(cached(i, `step ${i}`, 0));
    tty.write(started(11, 'RUN busy', 0));
    tty.write(log(11, 'a\nb\n', 0));
    const frame = tty.frame(80, false);
    expect(frame).toHaveLength(5);
    expect(frame[0]).toContain('(10/11)');
    expect(frame.slice(2)).toEqual([expect.stringMatching(/^ => RUN busy/), ' => # a', ' => # b']);
    expect(tty.frame(80, true)).toHaveLength(12); // the final frame shows everything
    out.rows = 4; // then log lines go, oldest first, and the vertex line stays
    expect(tty.frame(80, false).slice(1)).toEqual([expect.stringMatching(/^ => RUN busy/), ' => # b']);
    out.rows = 0; // unknown (a pty that never had its size set)
    expect(tty.frame(80, false)).toHaveLength(14);
  });

  it('stays linear with 100,000 log lines and keeps only the last lines', () => {
    const out = new FakeStream({ columns: 120 });
    const tty = new TtyRenderer({ out, now: () => T0, color: false });
    tty.write(started(1, 'RUN chatty', 0));
    const startedAt = performance.now();
    for (let i = 0; i < 100_000; i++) {
      tty.write(log(1, `line ${i}\n`, 1));
      if (i % 1000 === 0) tty.frame(120, false);
    }
    const big = Array.from({ length: 100_000 }, (_, i) => `bulk ${i}`).join('\n') + '\npartial';
    tty.write(log(1, big, 2));
    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect(tty.frame(120, false).slice(2)).toEqual([
      ' => # bulk 99995',
      ' => # bulk 99996',
      ' => # bulk 99997',
      ' => # bulk 99998',
      ' => # bulk 99999',
      ' => # partial',
    ]);
  });

  it('prints the warnings after the final frame', async () => {
    const out = new FakeStream({ columns: 80 });
    const r = createRenderer({ mode: 'tty', out, now: () => T0 });
    r.writer.write(warning('FromAsCasing: mismatched casing'));
    await r.close({});
    expect(stripAnsi(out.text)).toMatch(
      /\[\+\] Building 0\.0s \(0\/0\) FINISHED\n\n 1 warning found \(use --check to expand\):\n - FromAsCasing: mismatched casing\n$/,
    );
  });

  it('writes the plain text to the log file while drawing frames', async () => {
    const logFile = join(tmp, 'tty.log');
    const out = new FakeStream({ columns: 80 });
    const r = createRenderer({ mode: 'tty', out, logFile, now: () => T0 });
    r.writer.write(started(1, 'RUN echo hi', 0));
    r.writer.write(log(1, 'hi\n', 10));
    r.writer.write(done(1, 'RUN echo hi', 0, 20));
    await r.close({});
    expect(readFileSync(logFile, 'utf8')).toBe('#1 RUN echo hi\n#1 0.010 hi\n#1 DONE 0.0s\n');
    expect(out.text).not.toContain('#1 0.010');
  });
});

describe('modes and helpers', () => {
  it('auto picks plain for a non-TTY, tty for a terminal unless TERM=dumb; tty without columns is plain', () => {
    expect(createRenderer({ mode: 'auto', out: new FakeStream(), now: () => T0 }).mode).toBe('plain');
    const term = new FakeStream({ columns: 80 });
    expect(resolveMode('auto', term, undefined, { TERM: 'xterm' })).toBe('tty');
    expect(resolveMode('auto', term, undefined, { TERM: 'dumb' })).toBe('plain');
    expect(resolveMode('auto', term, false, {})).toBe('plain');
    expect(resolveMode('tty', new FakeStream(), true, {})).toBe('plain');
    expect(resolveMode('rawjson', term, true, {})).toBe('rawjson');
  });

  it('parses the mode names and rejects others with INVALID_ARGUMENT', () => {
    expect(parseProgressMode('rawjson')).toBe('rawjson');
    expect(() => parseProgressMode('json')).toThrow(InvalidArgumentError);
  });

  it('formats sizes and truncates by display width', () => {
    expect([formatBytes(95), formatBytes(1234), formatBytes(3_412_345), formatBytes(1e9)]).toEqual([
      '95B',
      '1.234kB',
      '3.412MB',
      '1GB',
    ]);
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abcd', 4)).toBe('abcd');
    expect(truncate('漢字漢字', 5)).toBe('漢字…');
    const ring = new Ring<number>(3);
    for (let i = 0; i < 10; i++) ring.push(i);
    expect(ring.toArray()).toEqual([7, 8, 9]);
  });

  it('close is idempotent and later events are ignored', async () => {
    const out = new FakeStream();
    const r = createRenderer({ mode: 'plain', out, now: () => T0 });
    r.writer.write(cached(1, 'a', 0));
    await Promise.all([r.close({}), r.close({})]);
    r.writer.write(cached(2, 'b', 0));
    expect(out.text).toBe('#1 a\n#1 CACHED\n');
  });
});

const canRun = canRunContainers('progress rendering of a real solve');

describe.skipIf(!canRun)('a real solve rendered as plain text', () => {
  const work = join(tmp, 'solve');
  let engine: Engine;

  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
  });

  it('prints each RUN with every output line and DONE; the second solve prints CACHED', async () => {
    const def = llb
      .image('busybox:latest')
      .run('for i in $(seq 1 3000); do echo "out $i"; done; printf "no newline"')
      .toDefinition();
    const out = new FakeStream();
    const logFile = join(work, 'logs', 'build.log');
    const r = createRenderer({ mode: 'plain', out, logFile });
    await solve(engine, def, { progress: r.writer });
    await r.close({});
    const text = out.text;
    const run = /#(\d+) .*seq 1 3000.*\n/.exec(text);
    expect(run).not.toBeNull();
    const n = run?.[1] ?? '';
    const lines = text.split('\n').filter((l) => new RegExp(`^#${n} \\d+\\.\\d{3} `).test(l));
    expect(lines.map((l) => l.replace(/^#\d+ \d+\.\d{3} /, ''))).toEqual([
      ...Array.from({ length: 3000 }, (_, i) => `out ${i + 1}`),
      'no newline',
    ]);
    expect(text).toMatch(new RegExp(`#${n} DONE \\d+\\.\\ds\\n`));
    expect(readFileSync(logFile, 'utf8')).toBe(text);

    const again = new FakeStream();
    const r2 = createRenderer({ mode: 'plain', out: again });
    await solve(engine, def, { progress: r2.writer });
    await r2.close({});
    expect(again.text).toMatch(/#\d+ CACHED\n/);
  }, 60_000);
});
