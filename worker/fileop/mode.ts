/**
 * The `chmod` of a copy: a number (or a string of octal digits) sets those permission bits on every
 * copied entry; a symbolic mode (`u+x`, `go-w,a+r`, `u=rwX`) changes each entry's source mode, `X`
 * adding execute for directories and for files that already have it for someone. No `who` means all.
 */
import { InvalidArgumentError } from '../../core/index.js';

/** The mode an entry gets from its source mode (permission bits and setuid/setgid/sticky). */
export type ModeFn = (sourceMode: number, isDir: boolean) => number;

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };

/** A ModeFn for a copy's chmod, or undefined when there is none. */
export function chmodFunction(chmod: number | string | undefined): ModeFn | undefined {
  if (chmod === undefined) return undefined;
  if (typeof chmod === 'number') {
    if (!Number.isInteger(chmod) || chmod < 0 || chmod > 0o7777) throw badMode(String(chmod));
    return () => chmod;
  }
  if (/^[0-7]{1,4}$/u.test(chmod)) {
    const mode = parseInt(chmod, 8);
    return () => mode;
  }
  const clauses = chmod.split(',').map((c) => parseClause(c, chmod));
  return (sourceMode, isDir) => {
    let mode = sourceMode & 0o7777;
    for (const apply of clauses) mode = apply(mode, isDir);
    return mode;
  };
}

type Clause = (mode: number, isDir: boolean) => number;

function parseClause(clause: string, whole: string): Clause {
  const m = /^([ugoa]*)((?:[-+=][rwxXst]*)+)$/u.exec(clause);
  if (m === null) throw badMode(whole);
  const who = m[1] === '' ? WHO.a! : [...m[1]!].reduce((acc, w) => acc | WHO[w]!, 0);
  const ops = [...m[2]!.matchAll(/([-+=])([rwxXst]*)/gu)].map((op) => [op[1]!, op[2]!] as const);
  return (mode, isDir) => {
    for (const [op, perms] of ops) {
      const bits = permBits(perms, mode, isDir) & who;
      if (op === '+') mode |= bits;
      else if (op === '-') mode &= ~bits;
      else mode = (mode & ~who) | bits;
    }
    return mode;
  };
}

function permBits(perms: string, mode: number, isDir: boolean): number {
  let bits = 0;
  for (const p of perms) {
    if (p === 'r') bits |= 0o444;
    else if (p === 'w') bits |= 0o222;
    else if (p === 'x') bits |= 0o111;
    else if (p === 'X') bits |= isDir || (mode & 0o111) !== 0 ? 0o111 : 0;
    else if (p === 's') bits |= 0o6000;
    else if (p === 't') bits |= 0o1000;
  }
  return bits;
}

function badMode(text: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid chmod ${JSON.stringify(text)}`);
}
