/** Hand-built tar streams for applier tests, written with our own header encoder (any header field). */
import { END_OF_ARCHIVE, encodeHeader, padding } from '../../../diff/tar.js';
import type { TarHeader } from '../../../diff/tar.js';

export type RawEntry = Partial<TarHeader> & { name: string; content?: string | Buffer };

/** A tar of `entries`; defaults: dirs 0755 and files 0644 owned by 0:0, a fixed mtime. */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const content = e.content === undefined ? undefined : Buffer.from(e.content);
    const type = e.type ?? (e.name.endsWith('/') ? 'dir' : 'file');
    const { content: _c, ...rest } = e;
    parts.push(
      encodeHeader({
        type,
        mode: type === 'dir' ? 0o755 : 0o644,
        uid: 0,
        gid: 0,
        mtime: 1_600_000_000,
        linkname: '',
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
        ...rest,
        size: content?.length ?? 0,
      }),
    );
    if (content !== undefined) parts.push(content, Buffer.alloc(padding(content.length)));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}
