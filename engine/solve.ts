/** The programmatic build API: solve an llb definition on the engine's stores. */
import type { ImageConfig } from '../oci/index.js';
import type { Definition } from '../llb/index.js';
import * as llb from '../llb/index.js';
import type { WorkerSolveOptions } from '../worker/index.js';
import type { Engine } from './open.js';

/**
 * What a solve is given besides the definition: the worker's options (signal, progress, local sources by
 * name, noCache, secret values and ssh sockets by id, proxy variables), passed through unchanged; the
 * base images a Dockerfile build resolved and has not pulled yet are the build's own.
 */
export type SolveOptions = Omit<WorkerSolveOptions, 'pendingImages'>;

export interface SolveResult {
  /** The committed snapshot that holds the root's filesystem (undefined for scratch). */
  readonly snapshot?: string;
  /**
   * The image config the result starts from: that of the image at the base of the root's chain (its
   * first input back to a source), without its rootfs. The Dockerfile frontend builds on it; a graph
   * that starts from scratch or a local source has none.
   */
  readonly imageConfig?: Omit<ImageConfig, 'rootfs'>;
}

/** The image source at the bottom of the root's first-input chain, if any. */
function baseImage(definition: Definition): string | undefined {
  const byDigest = new Map(definition.ops.map((op) => [op.digest, op]));
  let entry = definition.root ? byDigest.get(definition.root.digest) : undefined;
  for (let steps = 0; entry && steps <= definition.ops.length; steps++) {
    if (entry.op.kind === 'source') {
      const source = llb.parseSourceIdentifier(entry.op.identifier);
      return source?.scheme === 'image' ? source.ref : undefined;
    }
    if (entry.op.kind === 'file' && entry.op.base < 0) return undefined; // built on scratch
    const first = entry.op.kind === 'file' ? entry.inputs[entry.op.base] : entry.inputs[0];
    entry = first ? byDigest.get(first.digest) : undefined;
  }
  return undefined;
}

async function imageConfigOf(
  engine: Engine,
  definition: Definition,
): Promise<Omit<ImageConfig, 'rootfs'> | undefined> {
  const ref = baseImage(definition);
  if (ref === undefined) return undefined;
  const { rootfs: _rootfs, ...config } = (await engine.images.resolve(ref)).config;
  return config;
}

export async function solve(
  engine: Engine,
  definition: Definition,
  options: SolveOptions = {},
): Promise<SolveResult> {
  return engine.gcLock.shared(async () => {
    const result = await engine.worker.solve(definition, options);
    try {
      const imageConfig = await imageConfigOf(engine, definition);
      return {
        ...(result?.kind === 'snapshot' ? { snapshot: result.ref } : {}),
        ...(imageConfig ? { imageConfig } : {}),
      };
    } finally {
      await result?.release();
    }
  }, options.signal);
}
