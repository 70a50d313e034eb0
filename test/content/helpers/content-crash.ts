/**
 * The crash test's child: a plain .mjs script, written to a temp dir at test time, that imports the
 * compiled store from dist/ and writes blobs in every way the store offers (put of a buffer, put of a
 * stream, a writer on a reused ref, re-puts, label changes, deletes) until it is SIGKILLed.
 * It prints `ready` once loaded, `committed <digest>` after each commit returns, and `deleting <digest>`
 * before each delete, so the parent knows which blobs it must find after the kill.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../helpers/shared.js';

export const distContent = join(repoRoot, 'dist', 'content', 'index.js');

/** Fails clearly when dist/ is missing or older than the sources it was built from. */
export function checkDist(): void {
  if (!existsSync(distContent)) {
    throw new Error(
      `${distContent} is missing: run \`npm run build\` before this test (it runs the compiled store)`,
    );
  }
  const sources = join(repoRoot, 'content');
  for (const name of readdirSync(sources).filter((n) => n.endsWith('.ts'))) {
    const built = join(repoRoot, 'dist', 'content', name.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(sources, name)).mtimeMs) {
      throw new Error(`${built} is older than content/${name}: run \`npm run build\` first`);
    }
  }
}

const script = (distUrl: string): string => `
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { createContentStore } from ${JSON.stringify(distUrl)};

const [root, seedArg] = process.argv.slice(2);
let a = Number(seedArg) >>> 0;
const rand = () => {
  a = (a + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const say = (line) => process.stdout.write(line + '\\n');
const store = createContentStore({ root });
const recent = [];
say('ready');
for (let i = 0; ; i++) {
  const size = rand() < 0.1 ? Math.floor(rand() * 512_000) : Math.floor(rand() * 48_000);
  const data = randomBytes(size);
  const mode = Math.floor(rand() * 5);
  let info;
  if (mode === 0) {
    info = await store.put(data, { labels: { i: String(i) } });
  } else if (mode === 1) {
    const parts = [];
    for (let off = 0; off < size; off += 7_000) parts.push(data.subarray(off, off + 7_000));
    info = await store.put(Readable.from(parts));
  } else if (mode === 2) {
    const writer = await store.writer({ ref: 'crash-ref-' + (i % 3) });
    for (let off = 0; off < size; off += 16_384) await writer.write(data.subarray(off, off + 16_384));
    info = await writer.commit({ size, labels: { ref: String(i % 3) } });
  } else if (mode === 3 && recent.length > 0) {
    const old = recent[Math.floor(rand() * recent.length)];
    info = await store.put(old, { labels: { again: String(i) } });
    await store.setLabels(info.digest, { relabelled: String(i) });
    say('committed ' + info.digest);
    continue;
  } else if (recent.length > 0) {
    const old = recent.shift();
    const digest = (await store.put(old)).digest;
    say('deleting ' + digest);
    await store.delete(digest);
    continue;
  } else {
    continue;
  }
  recent.push(data);
  if (recent.length > 8) recent.shift();
  say('committed ' + info.digest);
}
`;

/** Writes the child script into `dir` and returns its path. */
export async function writeChildScript(dir: string): Promise<string> {
  const path = join(dir, 'crash-child.mjs');
  await writeFile(path, script(pathToFileURL(distContent).href));
  return path;
}

export interface Child {
  readonly process: ChildProcess;
  /** Resolves on `ready`; rejects if the child exits first or takes longer than `timeoutMs`. */
  readonly ready: Promise<void>;
  /** Resolves with how the child ended, and everything it said on stderr. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts the child; `onLine` sees every stdout line (they arrive in order). */
export function startChild(
  scriptPath: string,
  args: string[],
  onLine: (line: string) => void,
  timeoutMs = 10_000,
): Child {
  const child = spawn(process.execPath, [scriptPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout });
  const closed = new Promise<void>((resolve) => lines.once('close', resolve));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) =>
      child.once('exit', (code, signal) => void closed.then(() => resolve({ code, signal, stderr }))),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child not ready after ${timeoutMs} ms`)), timeoutMs);
    lines.on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      } else onLine(line);
    });
    void exited.then(({ code, stderr: err }) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before it was ready:\n${err}`));
    });
  });
  ready.catch(() => undefined);
  return { process: child, ready, exited };
}
