/**
 * What the solver keeps per vertex while it solves one: the op's context (the entry's signal, a progress
 * writer that tags events with the vertex's digest, whether its outcome was reported), the events it
 * writes for a vertex, and the checks on what an op returns.
 */
import { InvalidArgumentError } from '../core/index.js';
import type { ProgressEvent, ProgressWriter } from '../core/index.js';
import type { Entry, Solved } from './entry.js';
import { VertexError } from './errors.js';
import { releaseAll } from './result.js';
import type { OpContext, Result, Vertex } from './types.js';

export interface TrackedContext extends OpContext {
  readonly entry: Entry;
  /** Set once a cached/done/error event was written for this vertex. */
  reported: boolean;
}

export function base(vertex: Vertex): { digest: string; name: string } {
  return { digest: vertex.digest, name: vertex.name };
}

/** The op's context: the entry's signal, and a progress writer that tags events with the digest. */
export function opContext(vertex: Vertex, entry: Entry): TrackedContext {
  const progress: ProgressWriter = {
    write: (event: ProgressEvent) => {
      const tagged =
        'digest' in event && event.digest !== undefined ? event : { ...event, digest: vertex.digest };
      entry.write(tagged as ProgressEvent);
    },
  };
  return { signal: entry.signal, progress, digest: vertex.digest, name: vertex.name, entry, reported: false };
}

export function errorEvent(
  vertex: Vertex,
  failure: unknown,
  run: { started: number; durationMs: number } | undefined,
): ProgressEvent {
  const error = failure instanceof Error ? failure.message : String(failure);
  const cancelled = !(failure instanceof VertexError);
  return { ...base(vertex), type: 'vertex.error', ...run, completed: Date.now(), error, cancelled };
}

export async function checkOutputs(vertex: Vertex, results: Result[]): Promise<void> {
  const outputs = vertex.outputs ?? 1;
  if (results.length === outputs) return;
  await releaseAll(results);
  throw new InvalidArgumentError(`the op returned ${results.length} results, expected ${outputs}`);
}

export function pickOutput(vertex: Vertex, solved: Solved, index: number): Result {
  const result = solved.results[index];
  if (result === undefined) {
    throw new InvalidArgumentError(`${vertex.name} has no output ${index} (it has ${solved.results.length})`);
  }
  return result;
}
