/**
 * Telling an archive by its first bytes, as docker does: a compression by its magic bytes, a plain
 * tar by a header block whose checksum adds up. Used by ADD's unpack (worker/fileop/unpack.ts) and by
 * `tsbuild build -`, where stdin is the build context when it is an archive and the Dockerfile
 * otherwise (buildx's rule); here because the CLI may import only core/.
 */

export type ArchiveCompression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** The compression of a file by its first bytes ('none' when no known magic matches). */
export function compressionOf(head: Uint8Array): ArchiveCompression {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

/** True when `block` (512 bytes) is a tar header: not all zero, and its checksum adds up. */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < 512) return false;
  let unsigned = 0;
  let signed = 0;
  let zero = true;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    if (block[i] !== 0) zero = false;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (zero) return false;
  const field = Buffer.from(block.subarray(148, 156))
    .toString('latin1')
    .replace(/[\0 ]+$/u, '')
    .trim();
  if (!/^[0-7]+$/u.test(field)) return false;
  const sum = parseInt(field, 8);
  return sum === unsigned || sum === signed;
}

/**
 * Whether the data starting with `head` looks like an archive (buildx's and BuildKit's `isArchive`): a
 * known compression's magic bytes, or a plain tar header. A compressed file is not looked into.
 */
export function isArchiveHead(head: Uint8Array): boolean {
  return compressionOf(head) !== 'none' || isTarHeader(head.subarray(0, 512));
}
