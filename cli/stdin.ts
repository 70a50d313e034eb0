/**
 * The process's standard input, read whole at most once (a context archive, a Dockerfile, an llb
 * definition). The daemon client (client.ts) may read it and then hand the build over to the full CLI,
 * another bundle in this process: the launcher passes the bytes along (main.ts's `start`), and the
 * full CLI begins with them, since the stream is drained by then.
 */
let bytes: Buffer | undefined;

/** All of stdin; the same bytes on every call. */
export async function readStdin(): Promise<Buffer> {
  if (bytes !== undefined) return bytes;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  bytes = Buffer.concat(chunks);
  return bytes;
}

/** What readStdin read, or undefined when nothing read stdin. */
export function stdinRead(): Buffer | undefined {
  return bytes;
}

/** Starts with stdin already read (by the daemon client, before a hand-over). */
export function stdinReadBefore(read: Buffer): void {
  bytes = read;
}
