/**
 * `tsbuild daemon`: one engine kept open on a root, serving builds over a unix socket (HTTP/1.1, the
 * protocol in protocol.ts). A build through the daemon skips what every CLI process pays before its
 * first step (Node's start-up, loading the engine, opening the stores, reading the stat cache) and
 * finds its caches warm: BuildKit's model, where `docker build` is a thin client of a resident daemon.
 *
 * The socket is created with mode 0600 in the root (root-only, like the stores themselves). A client
 * that disconnects cancels its build. The stores stay safe for other processes (CLI builds, prune)
 * at the same time: the engine is multi-process safe, and re-reads what another process changed.
 */
import { chmod, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { AlreadyExistsError, InvalidArgumentError, TsbuildError } from '../core/index.js';
import type { ErrorCode } from '../core/index.js';
import { listenOn } from '../core/index.js';
import type { BuildResult, Engine, build } from '../engine/index.js';
import type { WireBuildRequest, WireBuildResult, WireLine } from './protocol.js';
import { WIRE_VERSION, errorToWire, parseBuildRequest, secretsOf } from './protocol.js';

export interface DaemonOptions {
  readonly engine: Engine;
  /**
   * Runs a build on `engine`: engine/build.ts's `build`, handed in so that this folder loads no engine
   * code (the daemon client's bundle imports the folder's face for the protocol).
   */
  readonly build: typeof build;
  readonly socketPath: string;
  /** Aborting it stops the daemon: no new builds, running ones cancelled, socket removed. */
  readonly signal: AbortSignal;
  /** One line per request and per failure (the daemon's log). */
  readonly log?: (line: string) => void;
}

/** Largest request body accepted (a Dockerfile sent as text, and secrets). */
const MAX_BODY = 32 * 1024 * 1024;

/** HTTP statuses for errors found before a build starts (the only map from codes to statuses). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 412,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  UNAVAILABLE: 503,
};

/** Serves until `signal` aborts; resolves once the socket is closed and removed. */
export async function serveDaemon(options: DaemonOptions): Promise<void> {
  await claimSocket(options.socketPath);
  const running = new Set<AbortController>();
  const server = createServer((req, res) => {
    // A request must never take the daemon down: whatever escapes is logged and answered if it can be.
    handle(req, res, options, running).catch((err: unknown) => {
      options.log?.(`request failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      if (!res.writableEnded) res.end();
    });
  });
  await listenOn(server, options.socketPath);
  try {
    await chmod(options.socketPath, 0o600);
    options.log?.(
      `tsbuild daemon: serving ${options.engine.root} on ${options.socketPath} (pid ${process.pid})`,
    );
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve();
      else options.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    for (const controller of running) controller.abort();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(options.socketPath, { force: true });
  }
}

/** Removes a socket file left by a daemon that died; refuses when a live daemon answers on it. */
async function claimSocket(path: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (live) {
    throw new AlreadyExistsError(`a tsbuild daemon already serves this root on ${path}`, {
      hint: 'stop it first, or give this one another --root',
    });
  }
  await rm(path, { force: true });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: DaemonOptions,
  running: Set<AbortController>,
): Promise<void> {
  if (req.method === 'GET' && req.url === '/v1/ping') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ version: WIRE_VERSION, root: options.engine.root, pid: process.pid }));
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/build') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ error: errorToWire(new TsbuildError('NOT_FOUND', `no ${req.method} ${req.url}`)) }),
    );
    return;
  }
  let wire: WireBuildRequest;
  try {
    wire = parseRequest(await readBody(req));
  } catch (err) {
    const wire = errorToWire(err);
    res.writeHead(STATUS[wire.code] ?? 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: wire }));
    return;
  }
  const controller = new AbortController();
  running.add(controller);
  // A client gone before its build ends cancels the build (Ctrl-C on `tsbuild build`).
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  // Lines go out once per turn of the event loop: a cached build reports ~25 events at once, and a
  // write each cost a system call each.
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length > 0 && !res.destroyed) res.write(pending.join(''));
    pending = [];
  };
  const send = (line: WireLine): void => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(`${JSON.stringify(line)}\n`);
  };
  const { request } = wire;
  const tags = request.tags ?? [];
  options.log?.(
    `build: ${request.context ?? '(no context)'}${tags.length ? ` -t ${tags.join(' -t ')}` : ''}`,
  );
  try {
    const result = await options.build(options.engine, request, {
      secrets: secretsOf(wire),
      progress: { write: (event) => send({ event }) },
      signal: controller.signal,
    });
    send({ result: wireResult(result) });
  } catch (err) {
    options.log?.(`build failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    send({ error: errorToWire(err) });
  } finally {
    running.delete(controller);
    flush();
    res.end();
    await options.engine.flush().catch(() => undefined);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new InvalidArgumentError(`request larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseRequest(body: string): WireBuildRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidArgumentError('the build request is not JSON');
  }
  return parseBuildRequest(value);
}

function wireResult(result: BuildResult): WireBuildResult {
  return {
    ...(result.imageID !== undefined ? { imageID: result.imageID } : {}),
    ...(result.manifestDigest !== undefined ? { manifestDigest: result.manifestDigest } : {}),
    ...(result.manifest !== undefined ? { manifest: result.manifest } : {}),
    names: result.names,
    containers: result.containers,
    warnings: result.warnings,
  };
}
