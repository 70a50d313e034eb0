/**
 * A minimal file-backed ContentStore for the layer tests (the real one lives in content/
 * and has its own suite): blobs under `<root>/blobs/sha256/<hex>`, writers that verify on commit,
 * readers that can verify the digest.
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { once } from 'node:events';
import { NotFoundError, TsbuildError } from '../../../core/errors.js';
import type { ContentInfo, ContentStore, ContentWriter } from '../../../content/index.js';
import type { Digest } from '../../../oci/index.js';

export class TestContentStore implements ContentStore {
  readonly labels = new Map<Digest, Record<string, string>>();
  private counter = 0;

  constructor(readonly root: string) {
    mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(join(root, 'ingest'), { recursive: true });
  }

  path(digest: Digest): string {
    return join(this.root, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  async info(digest: Digest): Promise<ContentInfo> {
    const p = this.path(digest);
    if (!existsSync(p)) throw new NotFoundError(`blob ${digest} not found`);
    const st = statSync(p);
    return {
      digest,
      size: st.size,
      createdAt: st.mtimeMs,
      updatedAt: st.mtimeMs,
      labels: this.labels.get(digest) ?? {},
    };
  }

  async read(digest: Digest, options: { verify?: boolean } = {}): Promise<NodeJS.ReadableStream> {
    const p = this.path(digest);
    if (!existsSync(p)) throw new NotFoundError(`blob ${digest} not found`);
    const stream = createReadStream(p, { highWaterMark: 256 * 1024 });
    if (!options.verify) return stream;
    const hash = createHash('sha256');
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
      flush(cb) {
        const got = `sha256:${hash.digest('hex')}`;
        cb(
          got === digest ? null : new TsbuildError('FAILED_PRECONDITION', `blob ${digest} hashes to ${got}`),
        );
      },
    });
    stream.on('error', (err) => check.destroy(err));
    return stream.pipe(check);
  }

  async writer(options: { ref: string; expected?: Digest }): Promise<ContentWriter> {
    const temp = join(this.root, 'ingest', `${options.ref}-${this.counter++}`);
    const out: WriteStream = createWriteStream(temp);
    const hash = createHash('sha256');
    let offset = 0;
    let done = false;
    const close = async (): Promise<void> => {
      if (done) return;
      done = true;
      out.end();
      await once(out, 'close');
    };
    const blobPath = (d: Digest): string => this.path(d);
    const info = (d: Digest): Promise<ContentInfo> => this.info(d);
    const labels = this.labels;
    return {
      ref: options.ref,
      get offset() {
        return offset;
      },
      async write(chunk: Uint8Array) {
        hash.update(chunk);
        offset += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
      },
      async commit(commit = {}) {
        await close();
        const digest: Digest = `sha256:${hash.digest('hex')}`;
        const expected = commit.expected ?? options.expected;
        if (expected !== undefined && expected !== digest) {
          rmSync(temp, { force: true });
          throw new TsbuildError('FAILED_PRECONDITION', `unexpected digest ${digest}, expected ${expected}`);
        }
        if (commit.size !== undefined && commit.size !== offset) {
          rmSync(temp, { force: true });
          throw new TsbuildError('FAILED_PRECONDITION', `unexpected size ${offset}, expected ${commit.size}`);
        }
        renameSync(temp, blobPath(digest));
        if (commit.labels) labels.set(digest, { ...commit.labels });
        return info(digest);
      },
      async abort() {
        await close();
        rmSync(temp, { force: true });
      },
    };
  }

  async put(
    data: Uint8Array | NodeJS.ReadableStream,
    options: { expected?: Digest } = {},
  ): Promise<ContentInfo> {
    const w = await this.writer({ ref: 'put', ...(options.expected ? { expected: options.expected } : {}) });
    if (data instanceof Uint8Array) await w.write(data);
    else for await (const chunk of data as AsyncIterable<Buffer>) await w.write(chunk);
    return w.commit();
  }

  async setLabels(digest: Digest, labels: Record<string, string>): Promise<ContentInfo> {
    this.labels.set(digest, { ...labels });
    return this.info(digest);
  }

  async delete(digest: Digest): Promise<void> {
    rmSync(this.path(digest), { force: true });
  }

  async *walk(): AsyncIterable<ContentInfo> {
    for (const hex of readdirSync(join(this.root, 'blobs', 'sha256'))) yield this.info(`sha256:${hex}`);
  }

  /** The number of files left in the ingest area (aborted writers must leave none). */
  ingestCount(): number {
    return readdirSync(join(this.root, 'ingest')).length;
  }
}
