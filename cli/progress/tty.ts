/**
 * The live terminal view, in the style of buildx's tty progress: a header `[+] Building 3.2s (5/9)`,
 * one line per vertex with its time at the right edge, and under each running vertex its byte
 * progress and its last few log lines (dimmed). Finished vertices collapse to one line. The frame is
 * redrawn in place with ANSI cursor movement at most every `intervalMs`; `close` draws the final frame
 * and leaves it on screen.
 *
 * Cost: a log event costs O(its size) (only the last lines of a chunk are kept, in a ring per vertex),
 * a frame costs O(vertices + shown lines), so a build with huge logs stays linear.
 */
import { StringDecoder } from 'node:string_decoder';
import type { LogEvent, ProgressEvent, ProgressWriter } from '../../core/index.js';
import { cleanLine, displayWidth, formatSeconds, formatTransfer, truncate } from './format.js';

/** The stream a live view draws on: it needs `write` and, to draw at all, `columns`. */
export interface TtyStream {
  write(chunk: string): boolean;
  readonly columns?: number;
  readonly rows?: number;
}

export interface TtyRendererOptions {
  readonly out: TtyStream;
  readonly now: () => number;
  /** Colours (default: unless NO_COLOR is set). Log lines are dimmed only with colours. */
  readonly color?: boolean;
  /** Log lines shown under a running vertex (default 6). */
  readonly logLines?: number;
  /** Minimum milliseconds between frames (default 100). */
  readonly intervalMs?: number;
}

/** The last `capacity` items pushed, oldest first; pushing is O(1). */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.capacity <= 0) return;
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  get size(): number {
    return this.items.length;
  }
}

type Status = 'running' | 'done' | 'cached' | 'error' | 'cancelled';

interface Transfer {
  readonly first: number;
  current: number;
  total: number | undefined;
  time: number;
}

interface Vertex {
  name: string;
  status: Status;
  started: number;
  durationMs: number;
  readonly lines: Ring<string>;
  readonly decoders: Map<LogEvent['stream'], StringDecoder>;
  readonly partial: Map<LogEvent['stream'], string>;
  readonly transfers: Map<string, Transfer>;
}

/** One line of a frame: the text to write (with colours) and its display width. */
interface Line {
  readonly text: string;
  readonly width: number;
}

/** A vertex's lines in a frame: `head` of them (its name line) are dropped last when space is short. */
interface Block {
  readonly lines: Line[];
  readonly head: number;
  readonly done: boolean;
}

const MAX_PARTIAL = 4096;
const ESC = '\x1b[';

export class TtyRenderer implements ProgressWriter {
  private readonly vertices = new Map<string, Vertex>();
  private readonly out: TtyStream;
  private readonly now: () => number;
  private readonly color: boolean;
  private readonly logLines: number;
  private readonly intervalMs: number;
  private readonly startedAt: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private dirty = true;
  private lastDraw = -Infinity;
  /** Display widths of the lines currently on screen (to know how far up to move). */
  private onScreen: number[] = [];
  private closed = false;

  constructor(options: TtyRendererOptions) {
    this.out = options.out;
    this.now = options.now;
    this.color = options.color ?? !process.env.NO_COLOR;
    this.logLines = options.logLines ?? 6;
    this.intervalMs = options.intervalMs ?? 100;
    this.startedAt = this.now();
  }

  /** Starts redrawing on a timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  write(event: ProgressEvent): void {
    if (this.closed) return;
    this.dirty = true;
    switch (event.type) {
      case 'vertex.started': {
        const vertex = this.vertex(event.digest, event.name, event.time);
        vertex.name = event.name;
        vertex.status = 'running';
        vertex.started = event.time;
        return;
      }
      case 'vertex.cached':
        this.vertex(event.digest, event.name, event.time).status = 'cached';
        return;
      case 'vertex.done': {
        const vertex = this.vertex(event.digest, event.name, event.started);
        vertex.status = 'done';
        vertex.durationMs = event.durationMs;
        return;
      }
      case 'vertex.error': {
        const vertex = this.vertex(event.digest, event.name, event.started ?? event.completed);
        vertex.status = event.cancelled ? 'cancelled' : 'error';
        vertex.durationMs = event.durationMs ?? 0;
        return;
      }
      case 'log':
        this.log(event);
        return;
      case 'progress': {
        const vertex = this.vertex(event.digest, undefined, event.time);
        const transfer = vertex.transfers.get(event.id);
        const time = event.completed ?? event.time;
        if (transfer === undefined)
          vertex.transfers.set(event.id, {
            first: event.started ?? event.time,
            current: event.current,
            total: event.total,
            time,
          });
        else Object.assign(transfer, { current: event.current, total: event.total, time });
        return;
      }
      case 'warning':
        return;
    }
  }

  /** Draws a frame if something changed (or a timer is running) and the interval has passed. */
  tick(): void {
    if (this.closed) return;
    const now = this.now();
    if (now - this.lastDraw < this.intervalMs) return;
    if (!this.dirty && !this.anyRunning()) return;
    this.draw(false);
  }

  /** Stops the timer and draws the final frame, which stays on screen. */
  close(result: { readonly error?: unknown } = {}): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.draw(true, result.error === undefined);
    this.closed = true;
  }

  /** The lines of a frame for a terminal `columns` wide (without cursor movement). */
  frame(columns: number, final: boolean, success = false): string[] {
    return this.lines(columns, final, success).map((line) => line.text);
  }

  private vertex(digest: string | undefined, name: string | undefined, time: number): Vertex {
    const key = digest ?? '';
    let vertex = this.vertices.get(key);
    if (vertex === undefined) {
      vertex = {
        name: name ?? digest ?? '',
        status: 'running',
        started: time,
        durationMs: 0,
        lines: new Ring(this.logLines),
        decoders: new Map(),
        partial: new Map(),
        transfers: new Map(),
      };
      this.vertices.set(key, vertex);
    }
    return vertex;
  }

  private anyRunning(): boolean {
    for (const [key, vertex] of this.vertices) if (key !== '' && vertex.status === 'running') return true;
    return false;
  }

  /** Keeps only the last complete lines of the chunk and a bounded tail of the current line. */
  private log(event: LogEvent): void {
    const vertex = this.vertex(event.digest, undefined, event.time);
    let decoder = vertex.decoders.get(event.stream);
    if (decoder === undefined) {
      decoder = new StringDecoder('utf8');
      vertex.decoders.set(event.stream, decoder);
    }
    const text = (vertex.partial.get(event.stream) ?? '') + decoder.write(Buffer.from(event.data, 'base64'));
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      vertex.partial.set(event.stream, text.length > MAX_PARTIAL ? text.slice(-MAX_PARTIAL) : text);
      return;
    }
    const tail: string[] = [];
    let end = last;
    while (tail.length < this.logLines && end >= 0) {
      const start = end === 0 ? -1 : text.lastIndexOf('\n', end - 1);
      tail.push(text.slice(start + 1, end));
      end = start;
    }
    for (let i = tail.length - 1; i >= 0; i--) vertex.lines.push(tail[i] ?? '');
    const rest = text.slice(last + 1);
    vertex.partial.set(event.stream, rest.length > MAX_PARTIAL ? rest.slice(-MAX_PARTIAL) : rest);
  }

  private paint(text: string, code: string): string {
    return this.color && text !== '' ? `${ESC}${code}m${text}${ESC}0m` : text;
  }

  /** `label` on the left, `right` flush with the right edge of `width` columns. */
  private row(label: string, right: string, width: number, code: string): Line {
    const rightWidth = displayWidth(right);
    const room = width - rightWidth - 1;
    if (room < 8) {
      const text = truncate(label, width);
      return { text: code ? this.paint(text, code) : text, width: displayWidth(text) };
    }
    const left = truncate(label, room);
    const pad = ' '.repeat(width - displayWidth(left) - rightWidth);
    const text = left + pad + right;
    return { text: code ? this.paint(text, code) : text, width };
  }

  private vertexLines(vertex: Vertex, width: number, live: boolean, now: number): Line[] {
    const { status } = vertex;
    const label =
      status === 'cached'
        ? `CACHED ${vertex.name}`
        : status === 'error'
          ? `ERROR ${vertex.name}`
          : status === 'cancelled'
            ? `CANCELED ${vertex.name}`
            : vertex.name;
    const ms = status === 'running' ? now - vertex.started : status === 'cached' ? 0 : vertex.durationMs;
    const code = status === 'error' ? '31' : status === 'running' ? '' : '34';
    const lines = [this.row(` => ${label}`, `${formatSeconds(ms)}s`, width, code)];
    // Its statuses (transfers, phases such as `exporting layers`) stay listed under it, as in BuildKit.
    for (const [id, t] of vertex.transfers) {
      const amount = t.total || t.current ? ` ${formatTransfer(t.current, t.total)}` : '';
      const label = ` => => ${shortId(id)}${amount}`;
      lines.push(
        this.row(label, `${formatSeconds(t.time - t.first)}s`, width, status === 'running' ? '' : code),
      );
    }
    if (status !== 'running' || !live) return lines;
    const logs = vertex.lines.toArray();
    for (const partial of vertex.partial.values()) if (partial !== '') logs.push(partial);
    for (const log of logs.slice(-this.logLines)) {
      const text = truncate(` => # ${cleanLine(log)}`, width);
      lines.push({ text: this.paint(text, '2'), width: displayWidth(text) });
    }
    return lines;
  }

  private lines(columns: number, final: boolean, success: boolean): Line[] {
    const width = Math.max(1, columns - 1);
    const now = final ? Math.max(this.now(), this.startedAt) : this.now();
    let total = 0;
    let finished = 0;
    const blocks: Block[] = [];
    for (const [key, vertex] of this.vertices) {
      if (key === '') continue;
      total++;
      if (vertex.status !== 'running') finished++;
      const lines = this.vertexLines(vertex, width, !final, now);
      blocks.push({ lines, head: 1, done: vertex.status !== 'running' });
    }
    const orphan = this.vertices.get('');
    if (orphan !== undefined && !final) {
      const logs = orphan.lines.toArray().slice(-this.logLines);
      const lines = logs.map((log) => {
        const text = truncate(` => # ${cleanLine(log)}`, width);
        return { text: this.paint(text, '2'), width: displayWidth(text) };
      });
      blocks.push({ lines, head: 0, done: false });
    }
    const elapsed = formatSeconds(now - this.startedAt);
    const headerText = truncate(
      `[+] Building ${elapsed}s (${finished}/${total})${final && success ? ' FINISHED' : ''}`,
      width,
    );
    const header: Line = { text: headerText, width: displayWidth(headerText) };
    // A live frame leaves the last row free, for the cursor.
    const rows = this.out.rows !== undefined && this.out.rows > 0 ? this.out.rows : Infinity;
    return [header, ...this.fit(blocks, final ? Infinity : Math.max(1, rows - 2))];
  }

  /**
   * A live frame must fit the screen (what scrolled off cannot be redrawn): drop finished vertices
   * from the top, then the log and transfer lines of running vertices (oldest first), then whatever
   * lines are oldest.
   */
  private fit(blocks: Block[], room: number): Line[] {
    let count = blocks.reduce((n, b) => n + b.lines.length, 0);
    if (count <= room) return blocks.flatMap((b) => b.lines);
    const kept: Block[] = [];
    for (const block of blocks) {
      if (block.done && count > room) count -= block.lines.length;
      else kept.push(block);
    }
    for (const block of kept) {
      const drop = Math.min(count - room, block.lines.length - block.head);
      if (drop <= 0) continue;
      block.lines.splice(block.head, drop);
      count -= drop;
    }
    const lines = kept.flatMap((b) => b.lines);
    return lines.length > room ? lines.slice(lines.length - room) : lines;
  }

  private draw(final: boolean, success = false): void {
    const columns = this.out.columns ?? 80;
    const lines = this.lines(columns, final, success);
    let up = 0;
    for (const w of this.onScreen) up += Math.max(1, Math.ceil(w / columns));
    let text = up > 0 ? `${ESC}${up}A\r` : '\r';
    for (const line of lines) text += `${line.text}${ESC}K\n`;
    text += `${ESC}J`;
    this.out.write(text);
    this.onScreen = lines.map((line) => line.width);
    this.lastDraw = this.now();
    this.dirty = false;
  }
}

/** `sha256:<64 hex>` as `sha256:<first 12 hex>…`; other ids as they are. */
function shortId(id: string): string {
  return /^sha256:[0-9a-f]{64}$/.test(id) ? `${id.slice(0, 19)}…` : id;
}
