/**
 * How the `tsbuild` command starts (bundled by scripts/bundle.mjs into dist/tsbuild.cjs, which
 * bin/tsbuild runs). It loads a CLI bundle through V8's code cache and calls the `start` it exports:
 * the full CLI (dist/tsbuild-main.cjs, main.ts), or for a build while a daemon answers on the root's
 * socket the daemon client (dist/tsbuild-client.cjs, client.ts), which it gives a way to hand the
 * command over to the full CLI. Values cross between the bundles only as those arguments and exports.
 * Compiling the 1.4 MB bundle, and then each function on its first call, is most of what a no-op build
 * costs after Node's own start-up; the cache file (`<bundle>.cache`) holds the compiled code of a whole
 * earlier run, so a later run compiles almost nothing (docs/architecture.md, "Start-up", has the numbers).
 *
 * The cache is only an accelerator: it is keyed by the bundle's size and mtime and Node's version, and
 * carries a CRC-32 of its V8 data (V8 rejects a cache made under other flags, but does not checksum it
 * in release builds: a damaged cache would crash Node). Any failure to read or write it just means
 * compiling as usual. It is written when missing or stale, and rewritten by a run that compiled more of
 * the CLI than the run that made it: a build that opened the engine (the full CLI's `engineOpened`)
 * ranks above a build served by a daemon, which ranks above any other command (the cache holds what
 * its run compiled). A run that opened the engine for a command the cache has not seen yet (`run` after
 * a `build` made it) rewrites it too, so that it covers both: V8's data of a run holds the functions it
 * took from the cache as well as those it compiled. Writes go to a temporary name and are renamed into
 * place.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isAscii } from 'node:buffer';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { commandOf, daemonSocketFor, supervisorRootFor } from './launch-target.js';
import { refuseInspectorSignal, spawnDetachedNode } from '../core/index.js';
import type * as Client from './client.js';
import type * as Main from './main.js';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

interface CacheHeader {
  readonly bundle: string;
  readonly node: string;
  /** What the run that made it compiled (see `rank`). */
  readonly rank: number;
  /** The commands whose runs (at the top rank) made it, for the ones it does not cover yet. */
  readonly commands?: readonly string[];
  readonly crc32: number;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The full CLI (main.ts). */
const MAIN = join(here, 'tsbuild-main.cjs');
/** A detached container's supervisor (runner/supervisor-main.ts). */
const SUPERVISOR = join(here, 'tsbuild-supervisor.cjs');
/** `tsbuild build` as a client of the root's daemon (client.ts). */
const CLIENT = join(here, 'tsbuild-client.cjs');

/** What a CLI bundle exports: `start`, and (the full CLI) whether its run opened an engine. */
interface Bundle {
  readonly start: (options: never) => void;
  readonly engineOpened?: () => boolean;
}

/** How much of the CLI this run compiled: 2 opened an engine, 1 a build (on a daemon), 0 anything else. */
function rank(argv: readonly string[], bundle: Bundle): number {
  if (bundle.engineOpened?.() === true) return 2;
  return argv.slice(2).includes('build') ? 1 : 0;
}

/** The cache's header and V8 data, when the file exists and was made for this bundle and Node. */
function readCache(cachePath: string, bundleKey: string): { header: CacheHeader; data: Buffer } | undefined {
  try {
    const file = readFileSync(cachePath);
    const length = file.readUInt32LE(0);
    const header = JSON.parse(file.subarray(4, 4 + length).toString('utf8')) as CacheHeader;
    if (header.bundle !== bundleKey || header.node !== process.version) return undefined;
    const data = file.subarray(4 + length);
    return crc32(data) === header.crc32 ? { header, data } : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(cachePath: string, header: Omit<CacheHeader, 'crc32'>, data: Buffer): void {
  const json = Buffer.from(JSON.stringify({ ...header, crc32: crc32(data) }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length, 0);
  const temp = `${cachePath}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, Buffer.concat([length, json, data]), { mode: 0o644 });
    renameSync(temp, cachePath);
  } catch {
    // a read-only installation, a full disk: the next run compiles as usual
    rmSync(temp, { force: true });
  }
}

/** Compiles `bundlePath` through its code cache (`<bundle>.cache`), runs it and returns its exports. */
function loadBundle<T extends Bundle>(bundlePath: string): T {
  const cachePath = `${bundlePath}.cache`;
  // The bundles are plain ASCII (scripts/bundle.mjs), read as Latin-1: the same text, a tenth of the
  // time of UTF-8's decoding. A shebang line is valid only at the very start of a file: kept as a comment.
  const bytes = readFileSync(bundlePath);
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8').replace(/^#!/, '//');
  const stat = statSync(bundlePath);
  const bundleKey = `${stat.size}:${stat.mtimeMs}`;
  const cached = readCache(cachePath, bundleKey);
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapper, {
    filename: bundlePath,
    ...(cached !== undefined ? { cachedData: cached.data } : {}),
  });
  const rejected = cached === undefined || script.cachedDataRejected === true;
  const fn = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  fn.call(module.exports, module.exports, createRequire(bundlePath), module, bundlePath, here);
  const bundle = module.exports as T;
  // At exit the script holds every function this run compiled.
  process.once('exit', () => {
    const runRank = rank(process.argv, bundle);
    const command = commandOf(process.argv, process.env) ?? '';
    const seen = cached?.header.rank === runRank ? (cached.header.commands ?? []) : [];
    const newCommand = runRank === 2 && !seen.includes(command) && seen.length < 32;
    if (rejected || (cached?.header.rank ?? -1) < runRank || newCommand) {
      writeCache(
        cachePath,
        { bundle: bundleKey, node: process.version, rank: runRank, commands: [...seen, command] },
        script.createCachedData(),
      );
    }
  });
  return bundle;
}

/** `run -d`, `start`: the container's supervisor, started now to boot while the CLI loads (or undefined). */
function earlySupervisor(): Main.MainStart['supervisor'] {
  const root = supervisorRootFor(process.argv, process.env);
  if (root === undefined || !existsSync(SUPERVISOR)) return undefined;
  return { root, script: SUPERVISOR, child: spawnDetachedNode(SUPERVISOR, [root]) };
}

function launch(): void {
  // First of all: every command (the daemon too) runs as root, and SIGUSR1 would open Node's inspector.
  refuseInspectorSignal();
  const runMain = (stdin?: Buffer): void => {
    const supervisor = earlySupervisor();
    loadBundle<typeof Main>(MAIN).start({
      ...(stdin !== undefined ? { stdin } : {}),
      ...(supervisor !== undefined ? { supervisor } : {}),
    });
  };
  const socket = daemonSocketFor(process.argv, process.env);
  if (socket === undefined || !existsSync(CLIENT)) return runMain();
  // A daemon answers: the client, which hands the command over to the full CLI if it stays local.
  const probe = connect(socket);
  probe.once('connect', () => {
    probe.destroy();
    loadBundle<typeof Client>(CLIENT).start({ handOver: runMain });
  });
  probe.once('error', () => runMain());
}

launch();
