/**
 * ADD of a local archive (`CopyAction.attemptUnpack`): a regular file that is a tar archive, plain or
 * compressed with gzip, bzip2, xz or zstd, is extracted into the destination directory instead of
 * being copied. As docker does, the decision is made by content, not by name: the compression is
 * recognised by its magic bytes and the first 512 bytes after decompression must be a tar header with
 * a valid checksum (an empty archive, or a compressed file that is not a tar, is copied as a file).
 *
 * Extraction goes through the layer applier (diff/): every member is resolved inside
 * the destination (no `..`, absolute name, symlink or hardlink can lead outside it), files are created
 * O_EXCL|O_NOFOLLOW, and owners, modes and times come from the archive. gzip is decompressed in
 * process, zstd, bzip2 and xz by their commands (`zstd -dc`, `bzip2 -dc`, `xz -dc`).
 *
 * One difference from docker's untar: the applier treats `.wh.` members as layer whiteouts (a
 * `.wh.name` member removes `name` in the destination) where docker would write them as files.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { cancelled } from '../../core/index.js';
import { compressionOf, isTarHeader } from '../../core/index.js';
import type { ArchiveCompression } from '../../core/index.js';
import { FailedPreconditionError, TsbuildError } from '../../core/index.js';
import { joinRoot } from '../../fsutil/index.js';
import { applyLayer } from '../../diff/index.js';
import type { CopyContext } from './copy-context.js';
import { mkdirAll } from './paths.js';
import { TreeCopier } from '../../fsutil/index.js';

export { compressionOf, isTarHeader };
export type { ArchiveCompression };

const COMMANDS: Partial<Record<ArchiveCompression, string>> = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' };

interface Decompressed {
  readonly stream: Readable;
  /** Resolves when the decompressor finished cleanly. */
  readonly done: Promise<void>;
  readonly stop: () => void;
}

/** The decompressed bytes of `path`, through zlib or a `<command> -dc` child reading the file. */
async function decompress(path: string, compression: ArchiveCompression): Promise<Decompressed> {
  if (compression === 'none' || compression === 'gzip') {
    const file = createReadStream(path);
    const stream = compression === 'none' ? file : file.pipe(createGunzip());
    if (stream !== file) file.on('error', (err) => stream.destroy(err));
    return { stream, done: Promise.resolve(), stop: () => void file.destroy() };
  }
  const command = COMMANDS[compression] as string;
  const child = spawn(command, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const input = createReadStream(path);
  input.on('error', (err) => child.stdout.destroy(err));
  child.stdin.on('error', () => undefined); // EPIPE when the reader stops early: the exit tells
  input.pipe(child.stdin);
  const { stdout, stderr: errStream } = child;
  let stderr = '';
  errStream.setEncoding('utf8');
  errStream.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  let stopped = false;
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new FailedPreconditionError(`${compression} archive: the ${command} command is not installed`, {
              hint: `install ${command === 'bzip2' ? 'bzip2' : command === 'xz' ? 'xz-utils' : 'zstd'}`,
              cause: err,
            })
          : new TsbuildError('INTERNAL', `${command}: ${err.message}`, { cause: err }),
      );
    });
    child.once('close', (code, signal) => {
      if (code === 0 || stopped) resolve();
      else
        reject(
          new TsbuildError('INVALID_ARGUMENT', `${command} -dc failed (${signal ?? code}): ${stderr.trim()}`),
        );
    });
  });
  done.catch(() => undefined);
  return {
    stream: stdout,
    done,
    stop: () => {
      stopped = true;
      input.destroy();
      child.kill('SIGKILL');
    },
  };
}

/** The first `n` bytes of a stream (fewer when it ends sooner). */
async function readPrefix(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    got += (chunk as Buffer).length;
    if (got >= n) break;
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/**
 * The compression of `path` when it is a tar archive, undefined when it is not. A compressed file whose
 * decompressor is missing is an error (it cannot be told apart).
 */
export async function archiveCompression(path: string): Promise<ArchiveCompression | undefined> {
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, 512, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const compression = compressionOf(head);
  if (compression === 'none') return isTarHeader(head) ? 'none' : undefined;
  const d = await decompress(path, compression);
  let block: Buffer;
  try {
    block = await readPrefix(d.stream, 512);
  } catch {
    block = Buffer.alloc(0); // corrupt compressed data: not an archive, copied as it is
  } finally {
    d.stop();
    d.stream.destroy();
  }
  // Nothing out of the decompressor: a missing command shows up here, through the child's error.
  if (block.length === 0) await d.done;
  return isTarHeader(block) ? compression : undefined;
}

/** Extracts the archive `path` into the existing directory `dest` (a real path, no symlinks). */
export async function unpackArchive(
  path: string,
  compression: ArchiveCompression,
  dest: string,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) throw cancelled(signal);
  // gzip and zstd are opened by the applier itself; bzip2 and xz reach it as a plain tar.
  const native = compression === 'none' || compression === 'gzip' || compression === 'zstd';
  const d = native
    ? { stream: createReadStream(path), done: Promise.resolve(), stop: () => undefined }
    : await decompress(path, compression);
  try {
    await applyLayer(d.stream, { root: dest, whiteouts: 'delete' }, signal, 'archive');
    await d.done;
  } catch (err) {
    d.stop();
    d.stream.destroy();
    await d.done.catch(() => undefined);
    throw err;
  }
}

/**
 * Extracts the archive `src` at `dest` (made a directory inside the destination root, with missing
 * parents). With a chown, the archive is extracted into a staging directory under the root first and
 * copied over with the new owner (BuildKit gives every extracted entry the chown's owner).
 */
export async function unpackInto(
  src: string,
  compression: ArchiveCompression,
  dest: string,
  ctx: CopyContext,
): Promise<void> {
  const destRel = await mkdirAll(ctx.destRoot, dest, 0o755, ctx.owner);
  const destAbs = joinRoot(ctx.destRoot, destRel);
  if (ctx.owner === undefined) return unpackArchive(src, compression, destAbs, ctx.signal);
  const staging = await mkdtemp(`${ctx.destRoot}/.tsbuild-unpack-`);
  try {
    await unpackArchive(src, compression, staging, ctx.signal);
    const copier = new TreeCopier({
      owner: ctx.owner,
      replaceExisting: true,
      signal: ctx.signal,
      parallelism: ctx.parallelism,
    });
    await copier.copy(staging, destAbs);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
