/**
 * fsck for the local content store (backs `tsbuild debug fsck`): `verifyContentStore` reports,
 * `cleanupContentStore` repairs what is safe to repair.
 *
 * Problems and their severities:
 *   corrupt-blob      error    a blob's bytes do not hash to its name
 *   invalid-blob      error    something under blobs/sha256 named like a blob that is not a file
 *   unknown-file      warning  a file the store did not make (left alone by cleanup)
 *   temp-file         warning  a temp file or retired ingest whose process is gone (or that is old)
 *   stale-ingest      warning  an ingest whose writer is gone, or older than `staleAfterMs`
 *   orphan-metadata   warning  metadata without its blob (a crash during delete)
 *   missing-metadata  warning  a blob without metadata (a crash during commit); reads as no labels
 *   invalid-metadata  warning  metadata that does not parse; reads as no labels
 * Temp files and ingests of live processes are work in flight, not problems, unless they are old.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName } from '../core/index.js';
import type { Digest } from '../oci/index.js';
import type { Signal } from '../core/index.js';
import { ownerAlive, parseOwner, pidAlive, retireDir } from './ingest.js';
import {
  createMetadataIfMissing,
  isBlobName,
  isNotFound,
  layoutOf,
  parseMetadata,
  throwIfCancelled,
  toDigest,
} from './layout.js';
import type { Layout } from './layout.js';

export type ContentProblemKind =
  | 'corrupt-blob'
  | 'invalid-blob'
  | 'unknown-file'
  | 'temp-file'
  | 'stale-ingest'
  | 'orphan-metadata'
  | 'missing-metadata'
  | 'invalid-metadata';

export interface ContentProblem {
  readonly kind: ContentProblemKind;
  readonly severity: 'error' | 'warning';
  readonly path: string;
  readonly digest?: Digest;
  readonly message: string;
}

export interface ContentStoreReport {
  readonly root: string;
  readonly blobs: number;
  readonly bytes: number;
  /** Ingests of live writers: work in flight, not problems. */
  readonly activeIngests: number;
  readonly problems: readonly ContentProblem[];
  /** True when no problem has severity 'error'. */
  readonly ok: boolean;
}

export interface VerifyOptions extends Signal {
  /** An ingest or temp file older than this is stale even if its process lives (default 24 h). */
  readonly staleAfterMs?: number;
  /** Hash every blob (default true); false checks names and file types only. */
  readonly hashBlobs?: boolean;
}

export interface CleanupOptions extends Signal {
  readonly staleAfterMs?: number;
  /** Also hash every blob and delete the corrupt ones (default false). */
  readonly removeCorrupt?: boolean;
}

export interface CleanupReport {
  readonly fixed: readonly ContentProblem[];
  readonly remaining: readonly ContentProblem[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const META_RE = /^([0-9a-f]{64})\.json$/;
const TEMP_PID_RE = /\.tmp-(\d+)-[0-9a-f]{12}$/;

interface Scan {
  readonly layout: Layout;
  readonly staleAfterMs: number;
  readonly hashBlobs: boolean;
  readonly signal: AbortSignal | undefined;
  readonly problems: ContentProblem[];
  blobs: number;
  bytes: number;
  activeIngests: number;
}

/** Checks the store under `root` and reports what is wrong; changes nothing. */
export async function verifyContentStore(
  root: string,
  options: VerifyOptions = {},
): Promise<ContentStoreReport> {
  throwIfCancelled(options.signal, 'verify');
  const scan: Scan = {
    layout: layoutOf(root),
    staleAfterMs: options.staleAfterMs ?? DAY_MS,
    hashBlobs: options.hashBlobs ?? true,
    signal: options.signal,
    problems: [],
    blobs: 0,
    bytes: 0,
    activeIngests: 0,
  };
  const blobs = await scanBlobs(scan);
  await scanMetadata(scan, blobs);
  await scanIngests(scan);
  const { problems, blobs: count, bytes, activeIngests } = scan;
  const ok = problems.every((p) => p.severity !== 'error');
  return { root, blobs: count, bytes, activeIngests, problems, ok };
}

/** Repairs what verify finds: removes stale ingests, temp files, orphan and malformed metadata; writes
 * missing metadata (never over a file a commit wrote meanwhile); with `removeCorrupt`, deletes corrupt
 * blobs. Unknown files are left alone. Safe to run beside live writers of other processes. */
export async function cleanupContentStore(
  root: string,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  const { signal, staleAfterMs } = options;
  const report = await verifyContentStore(root, {
    signal,
    staleAfterMs,
    hashBlobs: options.removeCorrupt ?? false,
  });
  const layout = layoutOf(root);
  const fixed: ContentProblem[] = [];
  const remaining: ContentProblem[] = [];
  for (const problem of report.problems) {
    throwIfCancelled(signal, 'cleanup');
    if (await fix(layout, problem, options.removeCorrupt ?? false)) fixed.push(problem);
    else remaining.push(problem);
  }
  return { fixed, remaining };
}

async function fix(layout: Layout, problem: ContentProblem, removeCorrupt: boolean): Promise<boolean> {
  switch (problem.kind) {
    case 'temp-file':
    case 'orphan-metadata':
      await rm(problem.path, { recursive: true, force: true });
      return true;
    case 'stale-ingest':
      await retireDir(problem.path);
      return true;
    case 'invalid-metadata':
      await rm(problem.path, { force: true });
      if (problem.digest) await describeBlob(layout, problem.digest);
      return true;
    case 'missing-metadata':
      if (problem.digest) await describeBlob(layout, problem.digest);
      return true;
    case 'corrupt-blob':
    case 'invalid-blob':
      if (!removeCorrupt) return false;
      await rm(problem.path, { recursive: true, force: true });
      if (problem.digest)
        await rm(join(layout.metadataDir, `${problem.digest.slice(7)}.json`), { force: true });
      return true;
    case 'unknown-file':
      return false;
  }
}

/** Gives a blob that has none a metadata file (no labels, times from the file), never replacing one. */
async function describeBlob(layout: Layout, digest: Digest): Promise<void> {
  const st = await stat(join(layout.blobsDir, digest.slice('sha256:'.length))).catch(() => undefined);
  if (!st) return;
  const time = Math.trunc(st.mtimeMs);
  await createMetadataIfMissing(layout, digest, { createdAt: time, updatedAt: time, labels: {} });
}

// ---------------------------------------------------------------------------------------------------

async function list(dir: string): Promise<Dirent[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

function problem(kind: ContentProblemKind, path: string, message: string, digest?: Digest): ContentProblem {
  const severity = kind === 'corrupt-blob' || kind === 'invalid-blob' ? 'error' : 'warning';
  return digest ? { kind, severity, path, digest, message } : { kind, severity, path, message };
}

/** Adds a temp-file problem when the temp's process is gone or the file is old. */
async function checkTemp(scan: Scan, path: string, name: string): Promise<void> {
  const pid = Number(TEMP_PID_RE.exec(name)?.[1] ?? NaN);
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  const age = Date.now() - st.mtimeMs;
  if (pidAlive(pid) && age <= scan.staleAfterMs) return;
  const why = pidAlive(pid) ? `older than ${scan.staleAfterMs} ms` : `process ${pid} is gone`;
  scan.problems.push(problem('temp-file', path, `stray temp file (${why})`));
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function scanBlobs(scan: Scan): Promise<Set<string>> {
  const { blobsDir } = scan.layout;
  const found = new Set<string>();
  for (const entry of await list(join(scan.layout.root, 'blobs'))) {
    if (entry.name !== 'sha256') {
      scan.problems.push(
        problem('unknown-file', join(scan.layout.root, 'blobs', entry.name), 'not a blob directory'),
      );
    }
  }
  for (const entry of await list(blobsDir)) {
    throwIfCancelled(scan.signal, 'verify');
    const path = join(blobsDir, entry.name);
    if (isTempName(entry.name)) await checkTemp(scan, path, entry.name);
    else if (!isBlobName(entry.name))
      scan.problems.push(problem('unknown-file', path, 'not named by a digest'));
    else if (!entry.isFile()) {
      scan.problems.push(
        problem('invalid-blob', path, 'named like a blob but not a file', toDigest(entry.name)),
      );
    } else await checkBlob(scan, path, entry.name, found);
  }
  return found;
}

async function checkBlob(scan: Scan, path: string, hex: string, found: Set<string>): Promise<void> {
  const digest = toDigest(hex);
  try {
    const st = await stat(path);
    if (scan.hashBlobs) {
      const actual = await hashFile(path);
      if (actual !== hex) {
        scan.problems.push(problem('corrupt-blob', path, `bytes hash to sha256:${actual}`, digest));
        return;
      }
    }
    found.add(hex);
    scan.blobs += 1;
    scan.bytes += st.size;
  } catch (err) {
    if (!isNotFound(err)) throw err; // deleted while we looked
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    },
  );
}

async function scanMetadata(scan: Scan, blobs: Set<string>): Promise<void> {
  const { metadataDir, blobsDir } = scan.layout;
  const described = new Set<string>();
  for (const entry of await list(metadataDir)) {
    throwIfCancelled(scan.signal, 'verify');
    const path = join(metadataDir, entry.name);
    const hex = META_RE.exec(entry.name)?.[1];
    if (isTempName(entry.name)) await checkTemp(scan, path, entry.name);
    else if (!hex || !entry.isFile())
      scan.problems.push(problem('unknown-file', path, 'not a metadata file'));
    else {
      described.add(hex);
      const digest = toDigest(hex);
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      try {
        parseMetadata(text, digest);
      } catch {
        scan.problems.push(problem('invalid-metadata', path, 'metadata does not parse', digest));
      }
      // A blob committed since we listed blobs/ is not an orphan: look again before saying so.
      if (!blobs.has(hex) && !(await exists(join(blobsDir, hex)))) {
        scan.problems.push(problem('orphan-metadata', path, 'metadata of a blob that is not there', digest));
      }
    }
  }
  for (const hex of blobs) {
    if (described.has(hex)) continue;
    const path = join(metadataDir, `${hex}.json`);
    if (!(await exists(path))) {
      scan.problems.push(
        problem('missing-metadata', join(blobsDir, hex), 'blob has no metadata', toDigest(hex)),
      );
    }
  }
}

async function scanIngests(scan: Scan): Promise<void> {
  const { ingestDir } = scan.layout;
  for (const entry of await list(ingestDir)) {
    throwIfCancelled(scan.signal, 'verify');
    const path = join(ingestDir, entry.name);
    if (isTempName(entry.name)) await checkTemp(scan, path, entry.name);
    else if (!isBlobName(entry.name) || !entry.isDirectory()) {
      scan.problems.push(problem('unknown-file', path, 'not an ingest directory'));
    } else await checkIngest(scan, path);
  }
}

async function checkIngest(scan: Scan, path: string): Promise<void> {
  const read = (name: string): Promise<string | undefined> =>
    readFile(join(path, name), 'utf8').catch(() => undefined);
  const [lock, ref, startedAt, st] = await Promise.all([
    read('lock'),
    read('ref'),
    read('startedat'),
    stat(path).catch(() => undefined),
  ]);
  if (!st) return; // committed or aborted while we looked
  const owner = lock === undefined ? undefined : parseOwner(lock);
  const started = Number(startedAt ?? NaN);
  const age = Date.now() - (Number.isFinite(started) ? started : st.mtimeMs);
  const dead = owner !== undefined && !(await ownerAlive(owner));
  if (!dead && age <= scan.staleAfterMs) {
    scan.activeIngests += 1;
    return;
  }
  const why = dead ? `its writer (pid ${owner?.pid}) is gone` : `older than ${scan.staleAfterMs} ms`;
  const name = ref === undefined ? '' : ` of ref ${JSON.stringify(ref)}`;
  scan.problems.push(problem('stale-ingest', path, `stale ingest${name}: ${why}`));
}
