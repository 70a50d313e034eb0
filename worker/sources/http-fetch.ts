/**
 * One HTTP(S) GET for the http source, on the HTTP stack (http/): its redirect rules, idle timeout,
 * TLS settings (the `caFile` and docker's `certs.d` the registry uses) and the caller's AbortSignal.
 * What is the http source's own: the request is conditional (If-None-Match / If-Modified-Since), not
 * retried (BuildKit's http source makes one request), and the body is streamed into a content-addressed
 * file (`<blobDir>/<hex>`, written under a temp name, hashed on the way, renamed into place). Errors are
 * HttpErrors: a code from the status, the status, and the URL without user info or secret-looking
 * query values.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { cancelled } from '../../core/index.js';
import {
  HttpClient,
  HttpError,
  codeForStatus,
  discard,
  headerValue,
  transferError,
} from '../../http/index.js';
import type { HttpResponse, TlsOptions } from '../../http/index.js';

export interface HttpGetOptions {
  readonly signal: AbortSignal;
  /** Where the body goes, as `<blobDir>/<sha256 hex>`. */
  readonly blobDir: string;
  /** Validators of a previous download: a 304 answer is `{ notModified: true }`. */
  readonly etag?: string;
  readonly lastModified?: string;
  /** Bytes received so far, and the total when the server said. */
  readonly onProgress?: (current: number, total: number | undefined) => void;
  /** No response or no body bytes for this long fails the request (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** CAs and client certificates: `caFile`, and docker's `<certsDir>/<host:port>/` (default /etc/docker/certs.d). */
  readonly tls?: TlsOptions;
}

export interface Downloaded {
  readonly notModified: false;
  readonly digest: string;
  readonly size: number;
  /** `<blobDir>/<hex>`. */
  readonly path: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /** A file name from Content-Disposition, made safe (one path component). */
  readonly dispositionName?: string;
}

export type HttpGetResult = { readonly notModified: true } | Downloaded;

/** A single path component, or undefined when `name` cannot be one. */
export function safeFileName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const base = posix.basename(name.replaceAll('\\', '/'));
  return base === '' || base === '.' || base === '..' || base.includes('\0') ? undefined : base;
}

/** The file name of a Content-Disposition header (`filename*=` wins over `filename=`). */
export function dispositionFileName(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;\s]+)/iu.exec(header);
  if (star?.[2] !== undefined) {
    try {
      return safeFileName(decodeURIComponent(star[2]));
    } catch {
      // a malformed escape: fall back to the plain parameter
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/iu.exec(header);
  if (!plain) return undefined;
  return safeFileName(plain[1] !== undefined ? plain[1].replace(/\\(.)/gu, '$1') : plain[2]);
}

/** The default file name of a URL: its last path component, or `index`. */
export function urlFileName(url: string): string {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    return 'index';
  }
  return safeFileName(path) ?? 'index';
}

/** The client of one download: the caller's TLS settings and idle timeout. */
function clientFor(options: HttpGetOptions): HttpClient {
  const { tls } = options;
  return new HttpClient({
    ...(tls?.caFile !== undefined ? { caFile: tls.caFile } : {}),
    ...(tls?.certsDir !== undefined ? { certsDir: tls.certsDir } : {}),
    idleMs: options.idleTimeoutMs ?? 60_000,
  });
}

/** GETs `url` (see the module comment). */
export async function httpGet(url: string, options: HttpGetOptions): Promise<HttpGetResult> {
  const { signal } = options;
  if (signal.aborted) throw cancelled(signal);
  const conditional: Record<string, string> = {};
  if (options.etag !== undefined) conditional['if-none-match'] = options.etag;
  if (options.lastModified !== undefined) conditional['if-modified-since'] = options.lastModified;
  const client = clientFor(options);
  try {
    const res = await client.send(new URL(url), { method: 'GET', headers: conditional, signal });
    if (res.status === 304 && Object.keys(conditional).length > 0) {
      discard(res);
      return { notModified: true };
    }
    if (res.status !== 200) {
      discard(res);
      throw new HttpError(codeForStatus(res.status), `GET failed: HTTP ${res.status}`, {
        url: res.url,
        status: res.status,
      });
    }
    const body = await saveBody(res, options);
    const etag = headerValue(res.headers, 'etag');
    const lastModified = headerValue(res.headers, 'last-modified');
    const dispositionName = dispositionFileName(headerValue(res.headers, 'content-disposition'));
    return {
      notModified: false,
      ...body,
      ...(etag === undefined ? {} : { etag }),
      ...(lastModified === undefined ? {} : { lastModified }),
      ...(dispositionName === undefined ? {} : { dispositionName }),
    };
  } finally {
    client.close();
  }
}

async function saveBody(
  res: HttpResponse,
  options: HttpGetOptions,
): Promise<{ digest: string; size: number; path: string }> {
  const { url } = res;
  await mkdir(options.blobDir, { recursive: true });
  const temp = `${options.blobDir}/.tmp-${randomBytes(8).toString('hex')}`;
  const length = Number(headerValue(res.headers, 'content-length') ?? NaN);
  const total = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        await handle.write(chunk);
        options.onProgress?.(size, total);
      }
    } catch (err) {
      throw transferError(err, { url, method: 'GET', signal: options.signal });
    }
    if (total !== undefined && size !== total) {
      throw new HttpError('UNAVAILABLE', `GET: got ${size} bytes of ${total}`, { url });
    }
    await handle.sync();
  } catch (err) {
    discard(res);
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  const hex = hash.digest('hex');
  const path = `${options.blobDir}/${hex}`;
  await rename(temp, path);
  options.onProgress?.(size, total ?? size);
  return { digest: `sha256:${hex}`, size, path };
}
