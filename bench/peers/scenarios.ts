/**
 * The benchmark contexts, generated under the scratch directory. Every Dockerfile starts from
 * `ARG BASE` / `FROM $BASE`, and BASE is the local registry's busybox for every tool.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ScenarioId = 'a' | 'b' | 'c';

export interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  readonly context: string;
  /** Parallel stages: buildah gets `--jobs 4`. */
  readonly parallel: boolean;
  /** The file the touch and edit rebuilds change (scenario c). */
  readonly probe?: string;
}

const SIMPLE = `ARG BASE
FROM $BASE
RUN echo one > /one && mkdir -p /app
COPY a.txt /app/a.txt
RUN echo two > /app/two && cat /app/a.txt >> /app/two
RUN for i in 1 2 3 4 5 6 7 8; do echo "line $i" >> /app/lines; done
COPY dir/ /app/dir/
RUN ls -la /app /app/dir > /app/listing
RUN wc -l /app/listing > /app/count && cat /app/count
CMD ["cat", "/app/count"]
`;

function parallelDockerfile(): string {
  const stages = [1, 2, 3, 4].map((i) => `FROM $BASE AS s${i}\nRUN sleep 1 && echo ${i} > /r${i}\n`);
  const copies = [1, 2, 3, 4].map((i) => `COPY --from=s${i} /r${i} /r${i}`);
  return `ARG BASE\n${stages.join('\n')}\nFROM $BASE\n${copies.join('\n')}\nRUN cat /r1 /r2 /r3 /r4\n`;
}

const BIG = `ARG BASE
FROM $BASE
COPY . /data
RUN du -s /data > /data-size && cat /data-size
`;

function makeSimple(dir: string): void {
  mkdirSync(join(dir, 'dir/sub'), { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), SIMPLE);
  writeFileSync(join(dir, 'a.txt'), 'hello from a.txt\n');
  for (let i = 0; i < 10; i++) writeFileSync(join(dir, `dir/f${i}.txt`), `file ${i}\n`.repeat(i + 1));
  writeFileSync(join(dir, 'dir/sub/deep.txt'), 'deep\n');
}

function makeParallel(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), parallelDockerfile());
}

/** 20,000 files, 200 MB in all, in 100 directories; half text, half random bytes. */
function makeBig(dir: string, options: { files: number; mb: number }): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), BIG);
  const perFile = Math.floor((options.mb * 1024 * 1024) / options.files);
  const dirs = 100;
  const text = Buffer.from(
    'the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(Math.ceil(perFile / 55)),
  );
  let probe = '';
  for (let d = 0; d < dirs; d++) mkdirSync(join(dir, `d${String(d).padStart(3, '0')}`));
  for (let i = 0; i < options.files; i++) {
    const path = join(dir, `d${String(i % dirs).padStart(3, '0')}`, `f${i}.bin`);
    writeFileSync(path, i % 2 === 0 ? randomBytes(perFile) : text.subarray(0, perFile));
    if (i === Math.floor(options.files / 2)) probe = path;
  }
  return probe;
}

export function makeScenarios(root: string, options: { files: number; mb: number }): Scenario[] {
  const a = join(root, 'a-simple');
  const b = join(root, 'b-parallel');
  const c = join(root, 'c-big');
  makeSimple(a);
  makeParallel(b);
  const probe = makeBig(c, options);
  return [
    { id: 'a', title: '5 RUN + 2 COPY', context: a, parallel: false },
    { id: 'b', title: '4 parallel stages of `RUN sleep 1`', context: b, parallel: true },
    {
      id: 'c',
      title: `COPY ${options.files.toLocaleString('en')} files / ${options.mb} MB + RUN`,
      context: c,
      parallel: false,
      probe,
    },
  ];
}

/** A new mtime, same content. */
export function touchProbe(path: string, round: number): void {
  const t = new Date(Date.now() + round * 1000);
  utimesSync(path, t, t);
}

/** New content (a few bytes appended). */
export function editProbe(path: string, round: number): void {
  appendFileSync(path, `edit ${round} ${Date.now()}\n`);
}
