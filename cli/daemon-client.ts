/**
 * The client side of `tsbuild daemon` (protocol: daemon/protocol.ts). `tsbuild build` tries the daemon of
 * its root first and builds in-process when none is listening, so a daemon is an accelerator and
 * never a requirement. Neither the engine nor node:http's client is loaded here: the request is one
 * HTTP/1.0 POST on a unix socket, whose answer (unchunked, since the request is 1.0) is a status line,
 * headers, and a body of JSON lines that ends when the daemon closes the connection.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { CancelledError, TsbuildError } from '../core/index.js';
import type { ProgressEvent } from '../core/index.js';
import type { WireBuildRequest, WireBuildResult, WireLine } from '../daemon/index.js';
import { errorFromWire } from '../daemon/index.js';

export interface DaemonBuildOptions {
  readonly onEvent: (event: ProgressEvent) => void;
  readonly signal?: AbortSignal;
}

/** Connection failures that mean "no daemon here": build in-process instead. */
const NO_DAEMON = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK']);

/**
 * Runs a build on the daemon listening on `socketPath`. Undefined when no daemon listens there (no
 * socket, or a socket left by a daemon that died); the build's own failure is thrown as the daemon
 * reported it (same code, hint, location and step output as in-process).
 */
export async function buildOnDaemon(
  socketPath: string,
  body: WireBuildRequest,
  options: DaemonBuildOptions,
): Promise<WireBuildResult | undefined> {
  if (!existsSync(socketPath)) return undefined;
  const socket = await open(socketPath);
  if (socket === undefined) return undefined;
  const onAbort = (): void => void socket.destroy(); // closing the connection cancels the build
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    socket.write(
      `POST /v1/build HTTP/1.0\r\nHost: tsbuild\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${payload.length}\r\n\r\n`,
    );
    socket.write(payload);
    return await readResponse(socket, options);
  } catch (err) {
    if (options.signal?.aborted) throw new CancelledError('build cancelled');
    if (err instanceof TsbuildError) throw err;
    throw new TsbuildError(
      'UNAVAILABLE',
      `lost the tsbuild daemon on ${socketPath}: ${(err as Error).message}`,
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

function open(socketPath: string): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once('connect', () => resolve(socket));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (NO_DAEMON.has(err.code ?? '')) resolve(undefined);
      else reject(new TsbuildError('UNAVAILABLE', `the tsbuild daemon on ${socketPath}: ${err.message}`));
    });
  });
}

/** Parses the status and headers, then hands each body line to `line`; returns at the result line. */
async function readResponse(socket: Socket, options: DaemonBuildOptions): Promise<WireBuildResult> {
  let pending = '';
  let status: number | undefined;
  for await (const chunk of socket) {
    pending += (chunk as Buffer).toString('utf8');
    if (status === undefined) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) continue;
      status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(pending)?.[1] ?? 0);
      pending = pending.slice(end + 4);
    }
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = JSON.parse(pending.slice(0, newline)) as WireLine;
      pending = pending.slice(newline + 1);
      if ('event' in line) options.onEvent(line.event);
      else if ('result' in line) return line.result;
      else throw errorFromWire(line.error);
    }
  }
  if (status !== undefined && status !== 200 && pending.trim() !== '') {
    const line = JSON.parse(pending) as WireLine;
    if ('error' in line) throw errorFromWire(line.error);
  }
  if (options.signal?.aborted) throw new CancelledError('build cancelled');
  throw new TsbuildError(
    'UNAVAILABLE',
    status === undefined || status === 200
      ? 'the tsbuild daemon closed the connection before the build ended'
      : `the tsbuild daemon answered ${status}`,
  );
}
