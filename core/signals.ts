/**
 * Signal names and numbers as docker reads them (`--stop-signal`, `STOPSIGNAL`, `kill -s`): a name
 * with or without `SIG`, in any case (`TERM`, `SIGTERM`, `sigterm`), a number (`15`), or a real-time
 * signal as `RTMIN`, `RTMIN+N` (N 1–15), `RTMAX-N` (N 1–14), `RTMAX`, with glibc's numbering that
 * docker uses (RTMIN = 34, RTMAX = 64). Linux numbers; a number must be 1–64.
 */
import { constants } from 'node:os';
import { InvalidArgumentError } from './errors.js';

export interface ParsedSignal {
  /** `SIGTERM`, `SIGRTMIN+3`: the name as given (upper case, `SIG` prefixed), else the first for the number. */
  readonly name: string;
  readonly number: number;
}

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

const NAMED: ReadonlyMap<string, number> = new Map<string, number>([
  ...Object.entries(constants.signals as Record<string, number>),
  ['SIGCLD', 17],
]);

/** The name docker would show for a number: the first name Node lists, or `SIGRTMIN+N`/`SIGRTMAX-N`. */
export function signalName(number: number): string | undefined {
  for (const [name, n] of NAMED) if (n === number) return name;
  if (number === SIGRTMIN) return 'SIGRTMIN';
  if (number === SIGRTMAX) return 'SIGRTMAX';
  if (number > SIGRTMIN && number <= SIGRTMIN + 15) return `SIGRTMIN+${number - SIGRTMIN}`;
  if (number > SIGRTMIN + 15 && number < SIGRTMAX) return `SIGRTMAX-${SIGRTMAX - number}`;
  return undefined;
}

function realtime(name: string): number | undefined {
  const m = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(name);
  if (m === null) return undefined;
  const offset = m[3] === undefined ? 0 : Number(m[3]);
  if (m[1] === 'MIN' && (m[2] === undefined || (m[2] === '+' && offset >= 1 && offset <= 15)))
    return SIGRTMIN + offset;
  if (m[1] === 'MAX' && (m[2] === undefined || (m[2] === '-' && offset >= 1 && offset <= 14)))
    return SIGRTMAX - offset;
  return undefined;
}

/**
 * A signal from its name or number; `what` names the flag or field in the error (default 'signal').
 * Throws InvalidArgumentError for an unknown name, 0, or a number outside 1–64.
 */
export function parseSignal(value: string | number, what = 'signal'): ParsedSignal {
  const text = String(value).trim();
  const invalid = (): InvalidArgumentError =>
    new InvalidArgumentError(`invalid ${what} ${JSON.stringify(String(value))}`, {
      hint: 'a signal name (TERM, SIGKILL, RTMIN+3) or a number from 1 to 64',
    });
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number < 1 || number > SIGRTMAX) throw invalid();
    return { name: signalName(number) ?? `SIG${number}`, number };
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const number = NAMED.get(name) ?? realtime(name);
  if (number === undefined) throw invalid();
  return { name, number };
}
