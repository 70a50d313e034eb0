import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { formatLogTime, parseLogTime } from '../../runner/log-time.js';
import { MAX_LINE_BYTES, openJsonLog } from '../../runner/logs.js';
import { readJsonLog } from '../../runner/logs-read.js';
import type { ReadJsonLogOptions } from '../../runner/logs-read.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsbuild-logs-'));
  path = join(dir, 'container-json.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const enc = (s: string): Uint8Array => Buffer.from(s);

function entries(file = path): { log: string; stream: string; time: string }[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
}

async function read(options: Partial<ReadJsonLogOptions> = {}): Promise<[string, string][]> {
  const out: [string, string][] = [];
  await readJsonLog(path, { ...options, onOutput: (s, c) => out.push([s, Buffer.from(c).toString()]) });
  return out;
}

describe('json-file writer', () => {
  it('writes one entry per line, as docker does, holding a partial line until its newline', async () => {
    const log = openJsonLog(path);
    log.write('stdout', enc('one\ntw'));
    log.write('stderr', enc('err <&>\n'));
    expect(entries().map((e) => e.log)).toEqual(['one\n', 'err <&>\n']);
    log.write('stdout', enc('o\nthree'));
    await log.close();
    const all = entries();
    expect(all.map((e) => [e.stream, e.log])).toEqual([
      ['stdout', 'one\n'],
      ['stderr', 'err <&>\n'],
      ['stdout', 'two\n'],
      ['stdout', 'three'],
    ]);
    for (const e of all) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    const raw = readFileSync(path, 'utf8').split('\n')[1] ?? '';
    expect(raw).toMatch(/^\{"log":"err \\u003c\\u0026\\u003e\\n","stream":"stderr","time":"[^"]+"\}$/);
  });

  it('cuts a line at 16 KiB, keeps UTF-8 sequences whole, writes invalid bytes as U+FFFD', async () => {
    const log = openJsonLog(path);
    const long = `${'a'.repeat(MAX_LINE_BYTES - 1)}é${'b'.repeat(10)}\n`;
    log.write('stdout', enc(long));
    log.write('stdout', new Uint8Array([0x66, 0xff, 0xfe, 0x0a]));
    await log.close();
    const logs = entries().map((e) => e.log);
    expect(logs).toHaveLength(3);
    expect(logs[0]).toBe('a'.repeat(MAX_LINE_BYTES - 1));
    expect(logs[1]).toBe(`é${'b'.repeat(10)}\n`);
    expect(logs[2]).toBe('f\ufffd\ufffd\n');
    const times = entries().map((e) => e.time);
    expect(times[1]).toBe(times[0]);
  });

  it('rotates at max-size, keeping max-file files', async () => {
    const log = openJsonLog(path, { maxSize: 200, maxFiles: 3 });
    for (let i = 0; i < 40; i++) log.write('stdout', enc(`line ${i}\n`));
    await log.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    const lines = (await read()).map(([, l]) => l);
    expect(lines.at(-1)).toBe('line 39\n');
    // Consecutive, oldest first, over the three files.
    const first = Number(/\d+/.exec(lines[0] ?? '')?.[0]);
    expect(lines).toEqual(Array.from({ length: 40 - first }, (_, k) => `line ${first + k}\n`));
    expect(first).toBeGreaterThan(0);
  });

  it('closes when its signal aborts: a held partial line is written, later output dropped', async () => {
    const controller = new AbortController();
    const log = openJsonLog(path, { signal: controller.signal });
    log.write('stdout', enc('partial'));
    controller.abort();
    log.write('stdout', enc('after\n'));
    await log.close();
    expect(entries().map((e) => e.log)).toEqual(['partial']);
  });

  it('refuses a max-size that is not a positive integer', () => {
    expect(() => openJsonLog(path, { maxSize: 0 })).toThrow(/max-size/);
  });
});

describe('json-file reader', () => {
  it('tails over the rotated files, prints -t times, skips a crashed partial line', async () => {
    const log = openJsonLog(path, { maxSize: 100, maxFiles: 5 });
    for (let i = 0; i < 10; i++) log.write(i % 2 ? 'stderr' : 'stdout', enc(`l${i}\n`));
    await log.close();
    appendFileSync(path, '{"log":"half');
    expect((await read({ tail: 3 })).map(([, l]) => l)).toEqual(['l7\n', 'l8\n', 'l9\n']);
    expect(await read({ tail: 0 })).toEqual([]);
    const stamped = await read({ tail: 1, timestamps: true });
    expect(stamped[0]?.[0]).toBe('stderr');
    expect(stamped[0]?.[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z l9\n$/);
  });

  it('reads a file of 200,000 lines, whole or tailed', async () => {
    const log = openJsonLog(path, { maxSize: 64 * 1024 * 1024 });
    for (let i = 0; i < 200_000; i += 1000)
      log.write('stdout', enc(Array.from({ length: 1000 }, (_, k) => `${i + k}\n`).join('')));
    await log.close();
    let count = 0;
    await readJsonLog(path, { onOutput: () => count++ });
    expect(count).toBe(200_000);
    expect((await read({ tail: 2 })).map(([, l]) => l)).toEqual(['199998\n', '199999\n']);
  });

  it('filters by since and until (unix seconds)', async () => {
    const lines = [
      ['a\n', '2026-01-01T00:00:01Z'],
      ['b\n', '2026-01-01T00:00:02.5Z'],
      ['c\n', '2026-01-01T00:00:04.000000001Z'],
    ];
    appendFileSync(
      path,
      lines.map(([l, t]) => `${JSON.stringify({ log: l, stream: 'stdout', time: t })}\n`).join(''),
    );
    const at = (t: string): number => Number(parseLogTime(t)) / 1e9;
    expect((await read({ since: at('2026-01-01T00:00:02Z') })).map(([, l]) => l)).toEqual(['b\n', 'c\n']);
    expect((await read({ until: at('2026-01-01T00:00:03Z') })).map(([, l]) => l)).toEqual(['a\n', 'b\n']);
    expect(formatLogTime(parseLogTime('2026-01-01T00:00:02.5Z') ?? 0n, true)).toBe(
      '2026-01-01T00:00:02.500000000Z',
    );
    await expect(read({ tail: -1 })).rejects.toThrow(/tail/);
  });

  it('follows across rotations until the writer is done', async () => {
    const log = openJsonLog(path, { maxSize: 120, maxFiles: 2 });
    log.write('stdout', enc('before\n'));
    let done = false;
    const out: string[] = [];
    const reading = readJsonLog(path, {
      follow: true,
      pollMs: 20,
      isDone: () => done,
      onOutput: (_s, c) => out.push(Buffer.from(c).toString()),
    });
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 30));
      log.write('stdout', enc(`follow ${i}\n`));
    }
    await log.close();
    done = true;
    await reading;
    expect(out).toEqual(['before\n', ...Array.from({ length: 6 }, (_, i) => `follow ${i}\n`)]);
  });

  it('a follow ends with CancelledError when its signal aborts', async () => {
    const log = openJsonLog(path);
    log.write('stdout', enc('x\n'));
    const controller = new AbortController();
    const out: string[] = [];
    const reading = readJsonLog(path, {
      follow: true,
      signal: controller.signal,
      onOutput: (_s, c) => out.push(Buffer.from(c).toString()),
    });
    setTimeout(() => controller.abort(), 100);
    await expect(reading).rejects.toBeInstanceOf(CancelledError);
    expect(out).toEqual(['x\n']);
    await log.close();
  });
});
