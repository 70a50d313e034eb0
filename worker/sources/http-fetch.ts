/**
 * One HTTP(S) GET for the http source: conditional (If-None-Match / If-Modified-Since), redirects
 * followed by hand (at most 10, http and https only), an idle timeout, the caller's AbortSignal, and
 * the body streamed into a content-addressed file (`<blobDir>/<hex>`, written under a temp name, hashed
 * on the way, renamed into place). Errors are RegistryErrors: a code from the status, the status, and
 * the URL without user info or secret-looking query values.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { cancelled } from '../../core/index.js';
import { InvalidArgumentError } from '../../core/index.js';
import { RegistryError, codeForStatus, redactURL } from '../../image/index.js';

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

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

/** Checks the scheme and moves user info into a Basic Authorization header (fetch refuses it). */
function prepare(url: URL, origin: URL): Record<string, string> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`http source: unsupported URL scheme ${url.protocol} (${redactURL(url)})`);
  }
  const headers: Record<string, string> = {};
  if ((url.username !== '' || url.password !== '') && url.host === origin.host) {
    const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
  }
  url.username = '';
  url.password = '';
  return headers;
}

/** An AbortController that fires on the caller's signal or after `ms` without `touch()`. */
function idleController(
  signal: AbortSignal,
  ms: number,
): { ctl: AbortController; touch(): void; done(): void } {
  const ctl = new AbortController();
  const onAbort = (): void => ctl.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => ctl.abort(new Error(`no data for ${ms} ms`)), ms);
  return {
    ctl,
    touch: () => timer.refresh(),
    done: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

function fetchFailure(err: unknown, url: URL, signal: AbortSignal, ctl: AbortController): Error {
  if (signal.aborted) return cancelled(signal);
  if (ctl.signal.aborted) {
    return new RegistryError(
      'UNAVAILABLE',
      `GET timed out: ${String((ctl.signal.reason as Error).message)}`,
      {
        url,
        cause: err,
      },
    );
  }
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (err as Error).message;
  return new RegistryError('UNAVAILABLE', `GET failed: ${detail}`, { url, cause: err });
}

/** Follows redirects and returns the final response (the body not yet read). */
async function follow(
  start: string,
  conditional: Record<string, string>,
  timer: ReturnType<typeof idleController>,
  signal: AbortSignal,
): Promise<{ response: Response; url: URL }> {
  const origin = new URL(start);
  let url = new URL(start);
  for (let hops = 0; ; hops++) {
    const headers = { ...prepare(url, origin), ...conditional };
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'manual', headers, signal: timer.ctl.signal });
    } catch (err) {
      throw fetchFailure(err, url, signal, timer.ctl);
    }
    timer.touch();
    if (!REDIRECTS.has(response.status)) return { response, url };
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    if (location === null) {
      throw new RegistryError('FAILED_PRECONDITION', `HTTP ${response.status} without a Location`, {
        url,
        status: response.status,
      });
    }
    if (hops >= MAX_REDIRECTS) {
      throw new RegistryError('FAILED_PRECONDITION', `more than ${MAX_REDIRECTS} redirects`, { url });
    }
    url = new URL(location, url);
  }
}

/** GETs `url` (see the module comment). */
export async function httpGet(url: string, options: HttpGetOptions): Promise<HttpGetResult> {
  const { signal } = options;
  if (signal.aborted) throw cancelled(signal);
  const conditional: Record<string, string> = {};
  if (options.etag !== undefined) conditional['if-none-match'] = options.etag;
  if (options.lastModified !== undefined) conditional['if-modified-since'] = options.lastModified;
  const timer = idleController(signal, options.idleTimeoutMs ?? 60_000);
  try {
    const { response, url: final } = await follow(url, conditional, timer, signal);
    if (response.status === 304 && Object.keys(conditional).length > 0) {
      await response.body?.cancel().catch(() => undefined);
      return { notModified: true };
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new RegistryError(codeForStatus(response.status), `GET failed: HTTP ${response.status}`, {
        url: final,
        status: response.status,
      });
    }
    const body = await saveBody(response, final, options, timer);
    const etag = response.headers.get('etag') ?? undefined;
    const lastModified = response.headers.get('last-modified') ?? undefined;
    const dispositionName = dispositionFileName(response.headers.get('content-disposition'));
    return {
      notModified: false,
      ...body,
      ...(etag === undefined ? {} : { etag }),
      ...(lastModified === undefined ? {} : { lastModified }),
      ...(dispositionName === undefined ? {} : { dispositionName }),
    };
  } finally {
    timer.done();
  }
}

async function saveBody(
  response: Response,
  url: URL,
  options: HttpGetOptions,
  timer: ReturnType<typeof idleController>,
): Promise<{ digest: string; size: number; path: string }> {
  await mkdir(options.blobDir, { recursive: true });
  const temp = `${options.blobDir}/.tmp-${randomBytes(8).toString('hex')}`;
  const length = Number(response.headers.get('content-length') ?? NaN);
  const total = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      if (response.body !== null) {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          timer.touch();
          hash.update(chunk);
          size += chunk.length;
          await handle.write(chunk);
          options.onProgress?.(size, total);
        }
      }
    } catch (err) {
      throw fetchFailure(err, url, options.signal, timer.ctl);
    }
    if (total !== undefined && size !== total) {
      throw new RegistryError('UNAVAILABLE', `GET: got ${size} bytes of ${total}`, { url });
    }
    await handle.sync();
  } catch (err) {
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
