/**
 * `--add-host` entries (docker's `name:ip`, also `name=ip`; an IPv6 address keeps its colons) as
 * /etc/hosts lines: checked once here, for the executor's generated hosts file and for the hosts files
 * the networks keep.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../core/index.js';

export interface ExtraHost {
  readonly name: string;
  readonly ip: string;
}

const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*)$/;

/** One `--add-host` value; an error names the value. */
export function parseExtraHost(value: string): ExtraHost {
  const at = /[:=]/.exec(value)?.index ?? -1;
  const name = at < 0 ? '' : value.slice(0, at);
  const ip = at < 0 ? '' : value.slice(at + 1).replace(/^\[(.*)\]$/, '$1');
  if (!HOST_NAME.test(name) || isIP(ip) === 0)
    throw new InvalidArgumentError(
      `invalid --add-host ${JSON.stringify(value)}: want NAME:IP, e.g. db:172.30.0.5`,
    );
  return { name, ip };
}

/** The /etc/hosts lines of `--add-host` values, in order ('' for none). */
export function extraHostLines(values: readonly string[]): string {
  return values
    .map(parseExtraHost)
    .map((h) => `${h.ip}\t${h.name}\n`)
    .join('');
}
