/** Parsing of `name=value` arguments shared by the commands (`--local`, `--output`, `--secret` …). */
import { InvalidArgumentError } from '../../core/index.js';

/**
 * `name=value` entries → a record; an entry without a name before `=` is an error naming `what`, with
 * `usage` as its hint (default: `use <what> name=value`).
 */
export function parsePairs(
  pairs: readonly string[],
  what: string,
  usage = `use ${what} name=value`,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(pair)}`, {
        hint: usage,
      });
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** buildx's csv option syntax, `a=b,c=d` → a record. */
export function csvPairs(spec: string, what: string, usage?: string): Record<string, string> {
  return parsePairs(spec.split(','), what, usage);
}
