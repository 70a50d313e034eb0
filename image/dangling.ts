/**
 * Dangling images, as docker's `<none>:<none>`: an image whose last name moved to another image. It is
 * kept (an image's documents, layers and snapshots stay GC roots) until `tsbuild image prune` removes it,
 * or a name points at it again. One small JSON file per image, `images/dangling/<hex of its target>.json`.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, readJsonRecords } from '../core/index.js';
import type { Descriptor, Digest } from '../oci/index.js';

export interface DanglingImage {
  /** The manifest (or index) nothing names any more. */
  readonly target: Descriptor;
  /** When its last name was created. */
  readonly createdAt: number;
  /** When it lost its last name. */
  readonly danglingSince: number;
  /** The labels its last name had (a built image's snapshot label keeps the snapshot it ran from). */
  readonly labels: Readonly<Record<string, string>>;
}

interface Options {
  readonly signal?: AbortSignal;
}

const HEX = /^[a-f0-9]{64}$/;

export class DanglingImages {
  constructor(private readonly dir: string) {}

  private file(digest: Digest): string {
    const hex = digest.slice(digest.indexOf(':') + 1);
    if (!digest.startsWith('sha256:') || !HEX.test(hex)) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.dir, `${hex}.json`);
  }

  async add(image: DanglingImage, options: Options = {}): Promise<void> {
    await atomicWriteFile(this.file(image.target.digest), JSON.stringify(image, null, 2), options);
  }

  /** Forgets `digest` (a name points at it again, or it was pruned); nothing when it is not dangling. */
  async remove(digest: Digest): Promise<void> {
    await rm(this.file(digest), { force: true });
  }

  /** Every dangling image recorded, oldest first. */
  async list(options: Options = {}): Promise<DanglingImage[]> {
    const out = await readJsonRecords<DanglingImage>(this.dir, options);
    return out.sort((a, b) => a.danglingSince - b.danglingSince);
  }
}
