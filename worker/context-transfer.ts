/**
 * `transferring context: 206MB`: what reading a local source costs, shown under its step (`[internal]
 * load build context`) as BuildKit shows its context transfer. tsbuild reads a context in place, so the
 * bytes counted are those its content hashing reads (files whose stat changed since they were last
 * hashed); an unchanged context reads nothing and shows no line.
 */
import type { ProgressWriter } from '../core/index.js';

const ID = 'transferring context:';
const INTERVAL_MS = 100;

export class ContextTransfer {
  private bytes = 0;
  private started: number | undefined;
  private lastReport = 0;
  private reported = 0;

  /** `progress` is the local source step's writer (its events carry that step's digest). */
  constructor(private readonly progress: ProgressWriter) {}

  /** A file of `size` bytes is about to be read. */
  add(size: number): void {
    this.started ??= Date.now();
    this.bytes += size;
    const now = Date.now();
    if (now - this.lastReport >= INTERVAL_MS) {
      this.lastReport = now;
      this.write(now, false);
    }
  }

  /** The reads of one content hash are over: the line says done (again, if a later hash reads more). */
  finish(): void {
    if (this.bytes === this.reported || this.started === undefined) return;
    this.write(Date.now(), true);
  }

  private write(time: number, done: boolean): void {
    const started = this.started ?? time;
    if (done) this.reported = this.bytes;
    this.progress.write({
      type: 'progress',
      id: ID,
      current: this.bytes,
      time,
      started,
      ...(done ? { completed: time } : {}),
    });
  }
}
