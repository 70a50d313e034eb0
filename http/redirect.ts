/**
 * The redirect rules, for every request: at most `max` hops; http and https only; a 3xx without a
 * Location is an error; credentials go to the first request's origin only: user info in a URL becomes a
 * Basic Authorization header for that origin, and Authorization is dropped for good once a redirect
 * leaves it (another scheme, host or port). User info in a Location is never used.
 */
import { HttpError } from './errors.js';

export const DEFAULT_MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export type Headers = Readonly<Record<string, string>>;

/** Refuses a URL that is not http or https (`redirect`: a server sent it, not the caller). */
export function checkScheme(url: URL, redirect: boolean): void {
  if (url.protocol === 'http:' || url.protocol === 'https:') return;
  const what = `${redirect ? 'redirect to ' : ''}unsupported URL scheme ${url.protocol}`;
  throw new HttpError(redirect ? 'FAILED_PRECONDITION' : 'INVALID_ARGUMENT', what, { url });
}

/**
 * The first request: `url` without user info, and the headers with a Basic Authorization made from it
 * (unless the caller sent one).
 */
export function firstHop(url: URL, headers: Headers): { url: URL; headers: Headers } {
  checkScheme(url, false);
  if (url.username === '' && url.password === '') return { url, headers };
  const bare = new URL(url);
  bare.username = '';
  bare.password = '';
  if (Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) return { url: bare, headers };
  const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return {
    url: bare,
    headers: { ...headers, authorization: `Basic ${Buffer.from(user).toString('base64')}` },
  };
}

export interface Hop {
  readonly status: number;
  readonly location: string | undefined;
  /** The URL that answered. */
  readonly url: URL;
  /** Redirects followed so far. */
  readonly hops: number;
  readonly max: number;
}

/**
 * Where a response sends the request next, with the headers to send there; undefined when it is not
 * a redirect. Throws on a redirect the rules refuse.
 */
export function nextHop(hop: Hop, headers: Headers): { url: URL; headers: Headers } | undefined {
  if (!REDIRECTS.has(hop.status)) return undefined;
  const { url } = hop;
  if (hop.location === undefined) {
    throw new HttpError('FAILED_PRECONDITION', `HTTP ${hop.status} without a Location`, {
      url,
      status: hop.status,
    });
  }
  if (hop.hops >= hop.max) {
    throw new HttpError('FAILED_PRECONDITION', `more than ${hop.max} redirects`, { url, status: hop.status });
  }
  let next: URL;
  try {
    next = new URL(hop.location, url);
  } catch (cause) {
    throw new HttpError('FAILED_PRECONDITION', `HTTP ${hop.status} with a bad Location`, { url, cause });
  }
  checkScheme(next, true);
  next.username = '';
  next.password = '';
  if (next.origin === url.origin) return { url: next, headers };
  const kept = Object.fromEntries(
    Object.entries(headers).filter(([h]) => h.toLowerCase() !== 'authorization'),
  );
  return { url: next, headers: kept };
}
