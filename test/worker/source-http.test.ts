/**
 * The http source with the real parts: an engine on overlay snapshots solving `http:` sources served by
 * a node:http server on 127.0.0.1. Download (name, mode, mtime), 304 reuse counted by server hits, a
 * changed body re-downloaded, checksums, Content-Disposition, redirects, errors with redacted URLs,
 * and progress events.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryProgressWriter } from '../../core/index.js';
import * as llb from '../../llb/index.js';
import { openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { dispositionFileName, httpGet, urlFileName } from '../../worker/sources/index.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('http source tests (overlay snapshots)', { root: true });

const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';
const work = mkdtempSync(join(tmpdir(), 'tsbuild-http-src-'));
let engine: Engine;
let server: Server;
let base = '';
let body = 'hello v1\n';
const hits: { path: string; status: number }[] = [];

const etagOf = (data: string): string => `"${createHash('sha256').update(data).digest('hex').slice(0, 16)}"`;
const digestOf = (data: string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const send = (status: number, headers: Record<string, string> = {}, data = ''): void => {
    hits.push({ path, status });
    res.writeHead(status, headers);
    res.end(data);
  };
  if (path === '/file.txt' || path === '/') {
    const etag = etagOf(body);
    if (req.headers['if-none-match'] === etag) return send(304, { etag });
    return send(200, { etag, 'last-modified': LAST_MODIFIED, 'content-length': String(body.length) }, body);
  }
  if (path === '/lm') {
    // Last-Modified only: the re-check is If-Modified-Since.
    if (req.headers['if-modified-since'] === LAST_MODIFIED) return send(304);
    return send(200, { 'last-modified': LAST_MODIFIED }, 'by date\n');
  }
  if (path === '/to-file') return send(302, { location: 'file:///etc/passwd' });
  if (path === '/download') {
    return send(200, { 'content-disposition': 'attachment; filename="named.bin"' }, 'named\n');
  }
  if (path === '/hang') {
    hits.push({ path, status: 0 });
    return; // never answers
  }
  if (path === '/redirect') return send(302, { location: '/hop2' });
  if (path === '/hop2') return send(307, { location: `${base}/file.txt` });
  if (path === '/loop') return send(302, { location: '/loop' });
  return send(404, {}, 'not here');
}

async function read(
  snapshot: string | undefined,
  name: string,
): Promise<{ data: string; mode: number; mtime: number; names: string[] }> {
  return withSnapshotDir(engine, snapshot ?? '', async (dir) => {
    const st = statSync(join(dir, name));
    return {
      data: readFileSync(join(dir, name), 'utf8'),
      mode: st.mode & 0o7777,
      mtime: st.mtimeMs,
      names: readdirSync(dir),
    };
  });
}

const def = (url: string, attrs: Record<string, string> = {}): llb.Definition =>
  llb.remote(`http:${url}`, attrs).toDefinition();
const count = (path: string, status: number): number =>
  hits.filter((h) => h.path === path && h.status === status).length;

describe.skipIf(!rootReady)('http source', () => {
  beforeAll(async () => {
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    engine = await openEngine({ root: join(work, 'root') });
  });

  afterAll(async () => {
    await engine?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    rmSync(work, { recursive: true, force: true });
  });

  it('downloads one file named after the URL, mode 0600, mtime from Last-Modified, with progress', async () => {
    const progress = new MemoryProgressWriter();
    const result = await solve(engine, def(`${base}/file.txt`), { progress });
    const got = await read(result.snapshot, 'file.txt');
    expect(got).toMatchObject({ data: 'hello v1\n', mode: 0o600, names: ['file.txt'] });
    expect(got.mtime).toBe(Date.parse(LAST_MODIFIED));
    const bytes = progress.events.filter((e) => e.type === 'progress');
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.at(-1)).toMatchObject({ current: 9, total: 9 });
  });

  it('re-checks the URL with If-None-Match and reuses the snapshot on 304; a changed body is fetched', async () => {
    const first = await solve(engine, def(`${base}/file.txt`));
    const before200 = count('/file.txt', 200);
    const before304 = count('/file.txt', 304);
    const again = await solve(engine, def(`${base}/file.txt`));
    expect(again.snapshot).toBe(first.snapshot);
    expect(count('/file.txt', 304)).toBe(before304 + 1);
    expect(count('/file.txt', 200)).toBe(before200);
    // Without the cache index (noCache), a 304 still reuses the snapshot made from that content.
    const uncached = await solve(engine, def(`${base}/file.txt`), { noCache: true });
    expect(uncached.snapshot).toBe(first.snapshot);
    expect(count('/file.txt', 200)).toBe(before200);
    body = 'hello v2, longer\n';
    try {
      const changed = await solve(engine, def(`${base}/file.txt`));
      expect(changed.snapshot).not.toBe(first.snapshot);
      expect((await read(changed.snapshot, 'file.txt')).data).toBe('hello v2, longer\n');
      expect(count('/file.txt', 200)).toBe(before200 + 1);
    } finally {
      body = 'hello v1\n';
    }
  });

  it('re-checks with If-Modified-Since when the server gives no ETag', async () => {
    const first = await solve(engine, def(`${base}/lm`));
    const again = await solve(engine, def(`${base}/lm`));
    expect(again.snapshot).toBe(first.snapshot);
    expect(count('/lm', 200)).toBe(1);
    expect(count('/lm', 304)).toBe(1);
  });

  it('verifies a checksum, and a mismatch names both digests', async () => {
    const ok = await solve(engine, def(`${base}/file.txt`, { checksum: digestOf('hello v1\n') }));
    expect((await read(ok.snapshot, 'file.txt')).data).toBe('hello v1\n');
    const wrong = digestOf('something else');
    const err = (await solve(engine, def(`${base}/file.txt`, { checksum: wrong })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain(wrong);
    expect(err.message).toContain(digestOf('hello v1\n'));
  });

  it('names the file by the filename attr, Content-Disposition, or index; chmod applies', async () => {
    const named = await solve(engine, def(`${base}/download`));
    expect((await read(named.snapshot, 'named.bin')).data).toBe('named\n');
    const attr = await solve(engine, def(`${base}/download`, { filename: 'mine.txt', chmod: '755' }));
    expect(await read(attr.snapshot, 'mine.txt')).toMatchObject({ data: 'named\n', mode: 0o755 });
    const index = await solve(engine, def(`${base}/`));
    expect((await read(index.snapshot, 'index')).names).toEqual(['index']);
  });

  it('follows redirects, and stops a redirect loop', async () => {
    const result = await solve(engine, def(`${base}/redirect`, { filename: 'r.txt' }));
    expect((await read(result.snapshot, 'r.txt')).data).toBe('hello v1\n');
    const err = (await solve(engine, def(`${base}/loop`)).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/more than 10 redirects/);
    const toFile = (await solve(engine, def(`${base}/to-file`)).catch((e: unknown) => e)) as Error;
    expect(toFile.message).toMatch(/unsupported URL scheme file:/);
  });

  it('fails on 404 with the status and a redacted URL', async () => {
    const url = `http://user:secret@127.0.0.1:${base.split(':')[2]}/missing?token=abc&x=1`;
    // A custom name: llb's default vertex name is the identifier itself, URL and all.
    const named = llb
      .remote(`http:${url}`, {}, { description: { 'llb.customname': 'ADD missing' } })
      .toDefinition();
    const err = (await solve(engine, named).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.message).toMatch(/HTTP 404/);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).not.toContain('secret');
    expect(err.message).not.toContain('abc');
    expect(err.message).toContain('token=REDACTED');
  });

  it('stops on the abort signal, and times out a server that does not answer', async () => {
    const signal = AbortSignal.timeout(300);
    const err = (await solve(engine, def(`${base}/hang`), { signal }).catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(err.code).toBe('CANCELLED');
    const timedOut = (await httpGet(`${base}/hang`, {
      signal: new AbortController().signal,
      blobDir: join(work, 'blobs'),
      idleTimeoutMs: 200,
    }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(timedOut.code).toBe('UNAVAILABLE');
    expect(timedOut.message).toMatch(/timed out/);
  });

  it('fails clearly when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = (await solve(engine, def(`http://127.0.0.1:${port}/x`)).catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('http source file names', () => {
  it('parses Content-Disposition and URLs', () => {
    expect(dispositionFileName('attachment; filename="a b.tgz"')).toBe('a b.tgz');
    expect(dispositionFileName("attachment; filename*=UTF-8''%C3%A9t%C3%A9.txt; filename=x")).toBe('été.txt');
    expect(dispositionFileName('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(dispositionFileName('attachment; filename=".."')).toBeUndefined();
    expect(dispositionFileName('inline')).toBeUndefined();
    expect(urlFileName('http://h/a/b.tgz?x=1')).toBe('b.tgz');
    expect(urlFileName('http://h/')).toBe('index');
    expect(urlFileName('http://h/a%20b')).toBe('a b');
  });
});
