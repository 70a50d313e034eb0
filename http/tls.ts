/**
 * TLS settings per host, as docker reads them: the system roots, a `caFile` bundle trusted for every
 * host, the bundle the `tsbuild` launcher hands over (`TSBUILD_EXTRA_CA_CERTS`, or Node's own
 * `NODE_EXTRA_CA_CERTS`), and docker's
 * `<certsDir>/<host:port>/` directory: `*.crt` are CAs, `*.cert` + `*.key` a client certificate and its
 * key (the same base name; one without the other is an error, as in docker).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HttpError } from './errors.js';

export interface TlsOptions {
  /** A PEM bundle of extra CAs trusted for every host. */
  readonly caFile?: string;
  /** Per-host CAs and client certificates in `<certsDir>/<host:port>/` (docker's layout); default /etc/docker/certs.d. */
  readonly certsDir?: string;
}

/** What an https agent for one host is given: extra CAs (with the system roots) and a client pair. */
export interface HostTls {
  readonly ca: readonly string[];
  readonly cert?: string;
  readonly key?: string;
}

export const DEFAULT_CERTS_DIR = '/etc/docker/certs.d';

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new HttpError('INVALID_ARGUMENT', `cannot read the ${what} ${path}`, { cause });
  }
}

/** The directory of `host` (`host:port`, brackets of an IPv6 literal dropped) under the certs dir. */
function hostCertsDir(options: TlsOptions, host: string): string {
  return join(options.certsDir ?? DEFAULT_CERTS_DIR, host.replace(/^\[|\]/g, ''));
}

/** A client certificate and key from `dir`: the first `*.cert` by name, with its `*.key`. */
function clientPair(dir: string, names: readonly string[]): { cert?: string; key?: string } {
  const has = new Set(names);
  for (const name of names) {
    if (name.endsWith('.key') && !has.has(`${name.slice(0, -'.key'.length)}.cert`)) {
      throw new HttpError('INVALID_ARGUMENT', `missing client certificate for the key ${join(dir, name)}`);
    }
  }
  const certs = names.filter((n) => n.endsWith('.cert'));
  for (const name of certs) {
    const key = `${name.slice(0, -'.cert'.length)}.key`;
    if (!has.has(key)) {
      throw new HttpError(
        'INVALID_ARGUMENT',
        `missing key ${join(dir, key)} for the client certificate ${join(dir, name)}`,
        { hint: 'CA certificates must use the extension .crt' },
      );
    }
  }
  const first = certs[0];
  if (first === undefined) return {};
  return {
    cert: readPem(join(dir, first), 'client certificate'),
    key: readPem(join(dir, `${first.slice(0, -'.cert'.length)}.key`), 'client key'),
  };
}

const handedOver = (): string | undefined => process.env.TSBUILD_EXTRA_CA_CERTS || undefined;

/** The TLS material for `host` (`host:port`); read when a client first speaks https to it. */
export function hostTls(options: TlsOptions, host: string): HostTls {
  const ca: string[] = [];
  if (options.caFile !== undefined) ca.push(readPem(options.caFile, 'CA file'));
  const dir = hostCertsDir(options, host);
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    // no per-host directory: the system roots (and caFile) only
  }
  for (const name of names.filter((n) => n.endsWith('.crt'))) ca.push(readPem(join(dir, name), 'CA'));
  if (ca.length > 0 || handedOver() !== undefined) {
    // The `tsbuild` launcher hands NODE_EXTRA_CA_CERTS over under another name, so that Node does not
    // parse the bundle at every start-up (60 ms here): it is trusted here, where TLS is used. Without
    // the launcher, Node put it in its default store, which an explicit list of CAs replaces.
    for (const bundle of [handedOver(), process.env.NODE_EXTRA_CA_CERTS]) {
      if (!bundle) continue;
      try {
        ca.push(readFileSync(bundle, 'utf8'));
      } catch {
        // As Node does with an unreadable NODE_EXTRA_CA_CERTS: go on with the other roots.
      }
    }
  }
  return { ca, ...clientPair(dir, names) };
}
