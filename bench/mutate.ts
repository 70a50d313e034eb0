/** Deterministic Dockerfile mutations for the fuzz test: a seeded PRNG and a set of text mutators. */

/** mulberry32: small, fast, good enough to pick mutations reproducibly from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const specials = [
  '\\',
  '`',
  '"',
  "'",
  '$',
  '${',
  '}',
  '${A:-',
  '${A#',
  '${A/',
  '<<',
  '<<-',
  '<<EOF',
  '\nEOF\n',
  '\n',
  '\r\n',
  '#',
  '# escape=`\n',
  '# syntax=x\n',
  '[',
  ']',
  '["a",',
  '=',
  '--',
  '--mount=',
  '--from=',
  ' AS ',
  ',',
  ':',
  '\t',
  ' ',
  '\u00a0',
  '\uFEFF',
  '\u0000',
  'é',
  '😀',
  '\\\n',
  '\\ \n',
  '\\\\\n',
  'ONBUILD ',
  'FROM ',
  'RUN ',
  'COPY ',
  'ADD ',
  'ENV ',
  'ARG ',
  'HEALTHCHECK ',
  'CMD ',
  'SHELL ',
  '--chmod=',
  '--chown=',
  'type=cache',
];

type Rand = () => number;
type Mutator = (s: string, rand: Rand, donors: readonly string[]) => string;

const pick = <T>(items: readonly T[], rand: Rand): T => items[Math.floor(rand() * items.length)] as T;
const at = (s: string, rand: Rand): number => Math.floor(rand() * (s.length + 1));

const mutators: Mutator[] = [
  (s, r) => {
    const i = at(s, r);
    return s.slice(0, i) + pick(specials, r) + s.slice(i);
  },
  (s, r) => {
    const i = at(s, r);
    return s.slice(0, i) + s.slice(Math.min(s.length, i + 1 + Math.floor(r() * 40)));
  },
  (s, r) => {
    const i = at(s, r);
    const j = Math.min(s.length, i + Math.floor(r() * 200));
    return s.slice(0, j) + s.slice(i, j) + s.slice(j);
  },
  (s, r) => {
    const lines = s.split('\n');
    const i = Math.floor(r() * lines.length);
    const j = Math.floor(r() * lines.length);
    [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
    return lines.join('\n');
  },
  (s, r, donors) => {
    const donor = pick(donors, r).split('\n');
    const lines = s.split('\n');
    const from = Math.floor(r() * donor.length);
    lines.splice(Math.floor(r() * lines.length), 0, ...donor.slice(from, from + 1 + Math.floor(r() * 6)));
    return lines.join('\n');
  },
  (s, r) => s.slice(0, at(s, r)),
  (s, r) => {
    const i = at(s, r);
    const ch = s.charAt(i);
    return s.slice(0, i) + (r() < 0.5 ? ch.toUpperCase() : ch.toLowerCase()) + s.slice(i + 1);
  },
  (s) => s.replace(/\n/g, '\r\n'),
];

/** One mutant of `source`: 1–4 mutations chosen by `rand`. */
export function mutate(source: string, rand: Rand, donors: readonly string[]): string {
  let out = source;
  const count = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < count; i++) out = pick(mutators, rand)(out, rand, donors);
  return out;
}
