/**
 * Image references, normalised the way docker does: `busybox` → `docker.io/library/busybox:latest`,
 * `localhost:5000/app` → `localhost:5000/app:latest`, `name@sha256:…` kept by digest.
 * Grammar after distribution/reference: lower-case path components joined by `.`, `_`, `__` or `-`s;
 * a first component with `.` or `:`, or `localhost`, is a registry host.
 */
import { InvalidArgumentError } from '../core/index.js';

export interface ImageReference {
  /** Registry host (and port): `docker.io`, `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path without the domain: `library/busybox`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const component = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const domainRe =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

function invalid(ref: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid reference format: ${JSON.stringify(ref)}: ${why}`, {
    hint: 'an image reference looks like [registry/]name[:tag][@sha256:digest], with a lower-case name',
  });
}

function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    const path = slash < 0 ? OFFICIAL_PREFIX + name : name;
    return { domain: DEFAULT_DOMAIN, path };
  }
  let domain = first;
  let path = name.slice(slash + 1);
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  return { domain, path };
}

/** Parses and normalises a reference; a bare name gets the `latest` tag. */
export function parseReference(ref: string): ImageReference {
  if (ref.length === 0) throw invalid(ref, 'empty');
  if (ref.length > 4096) throw invalid(ref, 'too long');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw invalid(ref, 'bad digest');
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw invalid(ref, 'bad sha256 digest');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw invalid(ref, 'bad tag');
  }
  const { domain, path } = splitDomain(rest);
  if (!domainRe.test(domain)) throw invalid(ref, 'bad registry host');
  if (path.length === 0 || !path.split('/').every((c) => component.test(c))) {
    throw invalid(ref, /[A-Z]/.test(path) ? 'repository name must be lowercase' : 'bad repository name');
  }
  if (domain.length + 1 + path.length > 255) throw invalid(ref, 'repository name longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The repository without tag or digest: `docker.io/library/busybox`. */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalised string: `docker.io/library/busybox:latest`. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryOf(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Docker's short form for display: `busybox:latest`, `user/app:v1`, `127.0.0.1:5000/app:v1`. */
export function familiarReference(ref: ImageReference): string {
  let name = repositoryOf(ref);
  if (ref.domain === DEFAULT_DOMAIN) {
    name = ref.path.startsWith(OFFICIAL_PREFIX) ? ref.path.slice(OFFICIAL_PREFIX.length) : ref.path;
  }
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Parses and returns the normalised string form. */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}
