/**
 * SSH agent forwarding for one run: a unix socket of our own, in a private temp dir (mode 0711, so only
 * the socket's own mode decides who may connect), owned by the mount's uid/gid with its mode, that
 * forwards every connection to the host's agent socket. The socket is bind-mounted into the container;
 * the host socket's path never enters it. Everything is closed and removed when the callback settles.
 */
import { chmod, chown, mkdtemp, rm, stat } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { throwIfAborted } from '../core/index.js';
import { FailedPreconditionError } from '../core/index.js';
import { listenOn } from '../core/index.js';

export interface ForwardedSocketOptions {
  /** Owner and mode of the socket the container sees. */
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** Where the private temp dir is made (default: the OS temp dir). */
  readonly tempRoot?: string;
  readonly signal?: AbortSignal;
}

/** Pipes `conn` to a fresh connection to `target`; either side's end or error ends both. */
function forward(conn: Socket, target: string, open: Set<Socket>): void {
  const upstream = createConnection(target);
  open.add(conn);
  open.add(upstream);
  const close = (): void => {
    conn.destroy();
    upstream.destroy();
    open.delete(conn);
    open.delete(upstream);
  };
  conn.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
  conn.pipe(upstream);
  upstream.pipe(conn);
}

/**
 * Runs `fn` with the path of a socket that forwards to the host socket `hostSocket`. Fails at once when
 * `hostSocket` is not a socket.
 */
export async function withForwardedSocket<T>(
  hostSocket: string,
  options: ForwardedSocketOptions,
  fn: (socket: string) => Promise<T>,
): Promise<T> {
  throwIfAborted(options.signal);
  const info = await stat(hostSocket).catch(() => undefined);
  if (!info?.isSocket()) {
    throw new FailedPreconditionError(`ssh agent socket ${hostSocket} is not a socket`, {
      hint: 'give --ssh default (with SSH_AUTH_SOCK set) or --ssh <id>=<path of an agent socket>',
    });
  }
  const dir = await mkdtemp(join(options.tempRoot ?? tmpdir(), 'tsbuild-ssh-'));
  const open = new Set<Socket>();
  const server = createServer((conn) => forward(conn, hostSocket, open));
  try {
    await chmod(dir, 0o711);
    const socket = join(dir, 'ssh_auth_sock');
    await listenOn(server, socket);
    await chown(socket, options.uid, options.gid);
    await chmod(socket, options.mode & 0o777);
    return await fn(socket);
  } finally {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
}
