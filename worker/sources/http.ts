/**
 * The `http:<url>` source (Dockerfile `ADD <url>`): a snapshot holding one file.
 *
 * - The file is named by the `filename` attr, else by the response's Content-Disposition, else by the
 *   URL's last path component (`index` when there is none); its mode is the `chmod` attr (octal,
 *   default 0600, as BuildKit's ADD of a URL), its owner `uid`/`gid` (default 0), its mtime the
 *   Last-Modified header when there is one.
 * - Cache key: with a `checksum` attr, the op digest and the checksum (nothing is fetched until the
 *   op runs, and the download is verified against it). Without one, the URL is fetched while the key
 *   is computed, conditionally when a previous download left an ETag or Last-Modified: the key is the
 *   op digest with the content digest, the file name and the mtime, so an unchanged URL is a cache hit
 *   (a 304 costs no download) and a changed one is a miss.
 * - State, under `<stateDir>/http/`: one JSON file per URL (validators, content digest, file name from
 *   Content-Disposition, the snapshots made from it by key) and the latest body of each URL in
 *   `blobs/<hex>` (the previous body of a URL is removed when its content changes).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lchown, lutimes, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '../../core/index.js';
import type { TsbuildError } from '../../core/index.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../core/index.js';
import { hasCode } from '../../core/index.js';
import { redactURL } from '../../http/index.js';
import type { SourceOp } from '../../llb/index.js';
import type { CacheMap, Op, OpContext } from '../../solver/index.js';
import { sha } from '../local-hash.js';
import { snapshotResult } from '../results.js';
import { httpGet, safeFileName, urlFileName } from './http-fetch.js';
import type { Downloaded, HttpGetResult } from './http-fetch.js';
import type { SourceDeps } from './types.js';

/** What is known of one URL's last download. */
interface UrlRecord {
  readonly url: string;
  readonly digest: string;
  readonly size: number;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly dispositionName?: string;
  /** Snapshots made from this content, by cache-key digest. */
  readonly snapshots: Readonly<Record<string, string>>;
}

interface HttpAttrs {
  readonly checksum?: string;
  readonly filename?: string;
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
}

const hexOf = (digest: string): string => digest.slice('sha256:'.length);

function numericAttr(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/u.test(value)) throw new InvalidArgumentError(`http source: ${what} must be a number`);
  return Number(value);
}

export function parseHttpAttrs(attrs: Readonly<Record<string, string>> = {}): HttpAttrs {
  const { checksum, filename, chmod: mode } = attrs;
  if (checksum !== undefined && !/^sha256:[0-9a-f]{64}$/u.test(checksum)) {
    throw new InvalidArgumentError(
      `http source: checksum ${JSON.stringify(checksum)} is not sha256:<64 hex>`,
    );
  }
  if (filename !== undefined && safeFileName(filename) !== filename) {
    throw new InvalidArgumentError(`http source: filename ${JSON.stringify(filename)} is not a plain name`);
  }
  if (mode !== undefined && !/^[0-7]{1,4}$/u.test(mode)) {
    throw new InvalidArgumentError(`http source: chmod ${JSON.stringify(mode)} is not an octal mode`);
  }
  const uid = numericAttr(attrs.uid, 'uid');
  const gid = numericAttr(attrs.gid, 'gid');
  return {
    ...(checksum === undefined ? {} : { checksum }),
    ...(filename === undefined ? {} : { filename }),
    mode: mode === undefined ? 0o600 : parseInt(mode, 8),
    ...(uid === undefined ? {} : { uid }),
    ...(gid === undefined ? {} : { gid }),
  };
}

/** Emits BytesProgressEvents for one download, at most every 100 ms (and the last one). */
function progressFor(ctx: OpContext, id: string): (current: number, total: number | undefined) => void {
  let last = 0;
  return (current, total) => {
    const now = Date.now();
    if (now - last < 100 && current !== total) return;
    last = now;
    ctx.progress.write({
      type: 'progress',
      digest: ctx.digest,
      id,
      current,
      ...(total === undefined ? {} : { total }),
      time: now,
    });
  };
}

class HttpSource {
  private readonly recordPath: string;
  private readonly blobDir: string;
  private readonly display: string;
  /** The record the cache key was computed from (by this op instance, i.e. this solve). */
  private checked: UrlRecord | undefined;

  constructor(
    private readonly url: string,
    private readonly digest: string,
    private readonly attrs: HttpAttrs,
    private readonly deps: SourceDeps,
  ) {
    const dir = join(deps.stateDir, 'http');
    this.recordPath = join(dir, `${createHash('sha256').update(url).digest('hex')}.json`);
    this.blobDir = join(dir, 'blobs');
    this.display = redactURL(url);
  }

  private async readRecord(): Promise<UrlRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(this.recordPath, 'utf8')) as UrlRecord;
      return typeof record.digest === 'string' ? { ...record, snapshots: record.snapshots ?? {} } : undefined;
    } catch {
      return undefined; // missing or corrupt: as if never downloaded
    }
  }

  private async writeRecord(record: UrlRecord, signal: AbortSignal): Promise<void> {
    await atomicWriteFile(this.recordPath, JSON.stringify(record), { signal });
  }

  private keyOf(record: UrlRecord): string {
    const name = this.attrs.filename ?? record.dispositionName ?? urlFileName(this.url);
    return sha(this.digest, record.digest, name, record.lastModified ?? '');
  }

  /** Fetches the URL (conditionally when it can) and records what it got. */
  private async fetch(ctx: OpContext, conditional: boolean): Promise<UrlRecord> {
    const previous = await this.readRecord();
    const got: HttpGetResult = await httpGet(this.url, {
      signal: ctx.signal,
      blobDir: this.blobDir,
      ...(conditional && previous?.etag !== undefined ? { etag: previous.etag } : {}),
      ...(conditional && previous?.lastModified !== undefined ? { lastModified: previous.lastModified } : {}),
      onProgress: progressFor(ctx, `GET ${this.display}`),
      ...(this.deps.tls ? { tls: this.deps.tls } : {}),
    });
    if (got.notModified) {
      if (previous === undefined) throw new FailedPreconditionError(`GET ${this.display}: unexpected 304`);
      return previous;
    }
    const record = recordOf(this.display, got, previous);
    await this.writeRecord(record, ctx.signal);
    if (previous !== undefined && previous.digest !== got.digest) {
      await rm(join(this.blobDir, hexOf(previous.digest)), { force: true });
    }
    return record;
  }

  cacheMap = async (ctx: OpContext): Promise<CacheMap> => {
    if (this.attrs.checksum !== undefined) return { digest: sha(this.digest, this.attrs.checksum), deps: [] };
    const record = await this.fetch(ctx, true);
    this.checked = record;
    return { digest: this.keyOf(record), deps: [] };
  };

  exec = async (ctx: OpContext): Promise<ReturnType<typeof snapshotResult>[]> => {
    const expected = this.attrs.checksum ?? this.checked?.digest;
    let record = this.checked ?? (await this.readRecord());
    if (record !== undefined && expected !== undefined && record.digest !== expected) record = undefined;
    if (record !== undefined) {
      const name = record.snapshots[this.keyOf(record)];
      if (name !== undefined && (await this.deps.snapshotExists(name))) return [snapshotResult(name)];
    }
    let blob = record === undefined ? undefined : join(this.blobDir, hexOf(record.digest));
    if (record === undefined || !(await exists(blob ?? ''))) {
      record = await this.fetch(ctx, false);
      blob = join(this.blobDir, hexOf(record.digest));
      if (expected !== undefined && record.digest !== expected) throw this.mismatch(expected, record.digest);
    }
    const result = await this.snapshot(ctx.signal, record, blob ?? '');
    await this.remember(record, result.ref, ctx.signal);
    return [result];
  };

  private mismatch(expected: string, got: string): TsbuildError {
    if (this.attrs.checksum !== undefined) {
      return new FailedPreconditionError(
        `digest mismatch for ${this.display}: expected ${expected}, got ${got}`,
      );
    }
    return new FailedPreconditionError(
      `the content of ${this.display} changed while building (${expected}, then ${got}); build again`,
    );
  }

  private snapshot(signal: AbortSignal, record: UrlRecord, blob: string) {
    const name = this.attrs.filename ?? record.dispositionName ?? urlFileName(this.url);
    return this.deps.newSnapshot(signal, async (dir) => {
      const file = join(dir, name);
      await copyVerified(blob, file, record.digest, signal);
      await chmod(file, this.attrs.mode);
      if (this.attrs.uid !== undefined || this.attrs.gid !== undefined) {
        await lchown(file, this.attrs.uid ?? 0, this.attrs.gid ?? 0);
      }
      const mtime = record.lastModified === undefined ? NaN : Date.parse(record.lastModified);
      if (Number.isFinite(mtime)) await lutimes(file, mtime / 1000, mtime / 1000);
    });
  }

  /** Records the snapshot made for this key, so that a later miss on the same content reuses it. */
  private async remember(record: UrlRecord, snapshot: string, signal: AbortSignal): Promise<void> {
    const current = await this.readRecord();
    if (current === undefined || current.digest !== record.digest) return;
    const snapshots = { ...current.snapshots, [this.keyOf(record)]: snapshot };
    await this.writeRecord({ ...current, snapshots }, signal);
  }
}

function recordOf(display: string, got: Downloaded, previous: UrlRecord | undefined): UrlRecord {
  return {
    url: display,
    digest: got.digest,
    size: got.size,
    ...(got.etag === undefined ? {} : { etag: got.etag }),
    ...(got.lastModified === undefined ? {} : { lastModified: got.lastModified }),
    ...(got.dispositionName === undefined ? {} : { dispositionName: got.dispositionName }),
    snapshots: previous?.digest === got.digest ? previous.snapshots : {},
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await (await open(path, 'r')).close();
    return true;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Copies `src` to a new file `dest`, checking that what was read has `digest`. */
async function copyVerified(src: string, dest: string, digest: string, signal: AbortSignal): Promise<void> {
  const hash = createHash('sha256');
  const out = await open(dest, 'wx', 0o600);
  try {
    for await (const chunk of createReadStream(src, { signal })) {
      hash.update(chunk as Buffer);
      await out.write(chunk as Buffer);
    }
  } finally {
    await out.close();
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== digest) {
    throw new FailedPreconditionError(`stored download is corrupt: expected ${digest}, got ${got}`);
  }
}

/** The solver op of an `http:` source. */
export function httpSourceOp(op: SourceOp, url: string, digest: string, deps: SourceDeps): Op {
  const source = new HttpSource(url, digest, parseHttpAttrs(op.attrs), deps);
  return { lane: 'network', cacheMap: source.cacheMap, exec: source.exec };
}
