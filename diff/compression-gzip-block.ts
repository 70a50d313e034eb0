/**
 * One block of the parallel gzip stream (compression-gzip.ts) as raw deflate, the work a gzip worker
 * thread does (compression-gzip-pool.ts). The block is cut into 512-byte pieces, a tar's own grain, so
 * that a tar header between two random files is deflated alone, not with 512 random bytes around it;
 * a piece whose byte histogram is nearly flat (Rényi entropy of order 2 of about 7.5 bits per byte or
 * more, estimated from a quarter of its bytes: random or already compressed data, where deflate saves a
 * few percent at most and runs at a fifth of its speed) is stored, the rest deflated; 32 sampled bytes
 * rule out most compressible pieces first. Runs of one kind are joined: a deflated run is one deflate stream ended by
 * a sync flush (the first run of the block with the 32 KiB before the block as dictionary, later runs
 * without one), a stored run is stored blocks of at most 65,535 bytes. Every run ends on a byte
 * boundary, so the runs and the blocks concatenate into one valid deflate stream; the last run of the
 * last block carries the final bit. A block with nothing to store is one deflate call, as before.
 *
 * The bytes depend only on the block, the dictionary, the level and the zlib build, never on timing or
 * on the number of workers. `encodeGzipBlock` uses nothing outside itself (the worker runs its source
 * text): zlib is passed in.
 */

/** The part of `node:zlib` the block encoder uses. */
export interface DeflateRawSync {
  deflateRawSync(
    input: Uint8Array,
    options: { level: number; finishFlush: number; dictionary?: Uint8Array },
  ): Uint8Array;
  readonly constants: { readonly Z_SYNC_FLUSH: number; readonly Z_FINISH: number };
}

/** Raw deflate of `input` (see the module comment), in a new buffer of its own (transferable). */
export function encodeGzipBlock(
  z: DeflateRawSync,
  input: Uint8Array,
  dictionary: Uint8Array | undefined,
  level: number,
  last: boolean,
): Uint8Array {
  const PIECE = 512;
  const STORED_MAX = 65535;
  const SHORT = 2 * PIECE;
  // A piece is stored when the sum of the squared counts of 128 of its bytes (one in four, each byte
  // lane in turn) is at most 250: random bytes give 191.5 ± 11 (at most 256 in 200,000 pieces);
  // 250 is a Rényi entropy of order 2 of about 7.5 bits per byte.
  const SAMPLES = 128;
  const FLAT = 250;
  const counts = new Uint32Array(256);
  const seen = new Uint32Array(256);
  let stamp = 0;
  // 32 bytes 16 apart: random ones are 30 distinct values (never under 23 in 200,000 pieces), text
  // far fewer.
  const mixedSample = (start: number): boolean => {
    stamp++;
    let distinct = 0;
    for (let i = start; i < start + PIECE; i += 16) {
      const b = input[i] as number;
      if (seen[b] !== stamp) {
        seen[b] = stamp;
        distinct++;
      }
    }
    return distinct >= 24;
  };
  // Inside a stored run, the 32 sampled bytes suffice, but for every 8th piece: the histogram is
  // taken again at each run's start and every 4 KiB (a file's content rarely changes kind within it).
  const flat = (start: number, inRun: boolean): boolean => {
    if (start + PIECE > input.length || !mixedSample(start)) return false;
    if (inRun && start % (8 * PIECE) !== 0) return true;
    counts.fill(0);
    let sum = 0;
    for (let k = 0; k < SAMPLES; k++) {
      const b = input[start + 4 * k + (k & 3)] as number;
      const c = counts[b] as number;
      sum += 2 * c + 1;
      counts[b] = c + 1;
    }
    return sum <= FLAT;
  };
  const runs: { start: number; end: number; stored: boolean }[] = [];
  for (let start = 0; start < input.length; start += PIECE) {
    const prev = runs[runs.length - 1];
    const stored = level > 0 && flat(start, prev?.stored === true);
    const end = Math.min(start + PIECE, input.length);
    if (prev !== undefined && prev.stored === stored) prev.end = end;
    else runs.push({ start, end, stored });
  }
  if (runs.length === 0) runs.push({ start: 0, end: 0, stored: false });
  // A short deflated run between two stored ones (a tar header between two random files, with the
  // padded tail of the first) is stored too: a deflate block of a few hundred mixed bytes costs ~30 µs
  // of Huffman tree building, a hundred times what storing it costs, to save ~600 bytes.
  const joined: typeof runs = [];
  runs.forEach((run, i) => {
    const short =
      !run.stored &&
      run.end - run.start <= SHORT &&
      runs[i - 1]?.stored === true &&
      runs[i + 1]?.stored === true;
    const stored = run.stored || short;
    const prev = joined[joined.length - 1];
    if (prev !== undefined && prev.stored === stored) prev.end = run.end;
    else joined.push({ ...run, stored });
  });
  const pieces: Uint8Array[] = [];
  joined.forEach((run, i) => {
    const final = last && i === joined.length - 1;
    const bytes = input.subarray(run.start, run.end);
    if (!run.stored) {
      const finishFlush = final ? z.constants.Z_FINISH : z.constants.Z_SYNC_FLUSH;
      const dict = i === 0 && dictionary !== undefined ? { dictionary } : {};
      pieces.push(z.deflateRawSync(bytes, { level, finishFlush, ...dict }));
      return;
    }
    for (let o = 0; o < bytes.length; o += STORED_MAX) {
      const n = Math.min(STORED_MAX, bytes.length - o);
      const bfinal = final && o + n === bytes.length ? 1 : 0;
      pieces.push(Uint8Array.of(bfinal, n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff));
      pieces.push(bytes.subarray(o, o + n));
    }
  });
  const out = new Uint8Array(pieces.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
