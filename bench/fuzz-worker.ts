/**
 * Runs in a worker thread for test/fuzz.test.ts: receives inputs, runs parse + conversion on each and
 * reports every outcome. The test watches the time between reports, so a hang is caught and its input named.
 */
import { parentPort } from 'node:worker_threads';
import { TsbuildError } from '../core/errors.js';
import { parseStages } from '../frontend/instructions/index.js';
import { parseDockerfile } from '../parser/index.js';

export interface FuzzOutcome {
  readonly index: number;
  /** ok: parsed and converted; located: a TsbuildError with a location; anything else is a defect. */
  readonly kind: 'ok' | 'located' | 'unlocated' | 'foreign';
  readonly detail?: string;
}

export function checkOne(source: string): Omit<FuzzOutcome, 'index'> {
  try {
    parseStages(parseDockerfile(source, { file: 'Dockerfile' }));
    return { kind: 'ok' };
  } catch (err) {
    if (err instanceof TsbuildError) {
      const internal = err.message.startsWith('internal error');
      if (!internal && err.location && err.location.range.start.line >= 1) return { kind: 'located' };
      return { kind: 'unlocated', detail: `${err.code}: ${err.message}` };
    }
    return { kind: 'foreign', detail: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
}

parentPort?.on('message', (inputs: string[]) => {
  inputs.forEach((source, index) => {
    parentPort?.postMessage({ index, ...checkOne(source) } satisfies FuzzOutcome);
  });
});
