/**
 * A counting reverse proxy (node:http on 127.0.0.1, a free port) in front of a registry: builds point
 * at `proxy.host` instead of the registry's, and the suite reads which requests they made.
 */
import { createServer, request } from 'node:http';

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
}

export interface CountingProxy {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** Every request forwarded so far, in order. */
  readonly requests: ProxiedRequest[];
  /** Requests whose path names a manifest (`/v2/<repo>/manifests/<ref>`). */
  manifests(): ProxiedRequest[];
  /** Requests whose path names a blob (`/v2/<repo>/blobs/<digest>`). */
  blobs(): ProxiedRequest[];
  /** Forgets the requests seen so far. */
  reset(): void;
  close(): Promise<void>;
}

/** Forwards every request to `target` (`host:port`, plain http) and records method and path. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const requests: ProxiedRequest[] = [];
  const [hostname = '127.0.0.1', port = '80'] = target.split(':');
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' });
    const upstream = request(
      {
        hostname,
        port: Number(port),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const matching = (kind: string) => (): ProxiedRequest[] =>
    requests.filter((r) => new RegExp(`^/v2/.+/${kind}/[^/]+$`).test(r.path.split('?')[0] ?? ''));
  return {
    host,
    requests,
    manifests: matching('manifests'),
    blobs: matching('blobs'),
    reset: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
