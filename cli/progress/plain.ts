/**
 * The plain renderer, in the style of `docker buildx build --progress=plain`: vertices numbered `#N` in
 * the order they first appear, every log line prefixed with `#N <seconds since the vertex started>`,
 * byte progress at most once a second per transfer, and `#N DONE 1.2s` / `#N CACHED` / `#N ERROR: …` /
 * `#N CANCELED` when a vertex ends, `#N WARN: …` for a warning about a vertex. Nothing is clipped: every byte of process output is emitted, split
 * into lines, and a trailing partial line is flushed when its vertex ends (or at `finish`). A line
 * longer than `maxPartialBytes` (64 KiB) is emitted in pieces, so memory stays bounded.
 *
 * The formatter produces bytes (process output is not necessarily UTF-8) and hands each event's text to
 * `emit` in one piece, so several sinks (the terminal, a log file) see identical output.
 */
import type { LogEvent, ProgressEvent, ProgressWriter, BytesProgressEvent } from '../../core/index.js';
import { formatSeconds, formatTransfer } from './format.js';

export interface PlainFormatterOptions {
  /** Receives the output of one event at a time. */
  readonly emit: (chunk: Buffer) => void;
  /** The clock for throttling byte progress (epoch milliseconds). */
  readonly now: () => number;
  /** Minimum milliseconds between two lines for one transfer (default 1000). */
  readonly transferIntervalMs?: number;
  /** A partial line longer than this is emitted as a line of its own (default 64 KiB). */
  readonly maxPartialBytes?: number;
}

type Stream = LogEvent['stream'];

interface Partial {
  readonly chunks: Buffer[];
  bytes: number;
  /** Time of the first chunk: the line's timestamp. */
  readonly time: number;
}

interface Transfer {
  readonly first: number;
  current: number;
  total: number | undefined;
  time: number;
  /** `now()` when a line was last printed for it. */
  printedAt: number | undefined;
  printedCurrent: number | undefined;
  done: boolean;
}

interface Vertex {
  readonly index: number;
  name: string;
  /** Epoch ms that log timestamps count from. */
  started: number;
  running: boolean;
  readonly partial: Map<Stream, Partial>;
  readonly transfers: Map<string, Transfer>;
}

/** A `ProgressWriter` that formats events as buildx's plain progress. */
export class PlainFormatter implements ProgressWriter {
  private readonly vertices = new Map<string, Vertex>();
  private current: Vertex | undefined;
  private nextIndex = 1;
  private printedAny = false;
  private parts: (string | Buffer)[] = [];
  private readonly emit: (chunk: Buffer) => void;
  private readonly now: () => number;
  private readonly transferInterval: number;
  private readonly maxPartial: number;

  constructor(options: PlainFormatterOptions) {
    this.emit = options.emit;
    this.now = options.now;
    this.transferInterval = options.transferIntervalMs ?? 1000;
    this.maxPartial = options.maxPartialBytes ?? 64 * 1024;
  }

  write(event: ProgressEvent): void {
    try {
      this.handle(event);
    } finally {
      this.flushParts();
    }
  }

  /** Emits the partial lines of vertices that never ended (call once, when the build is over). */
  finish(): void {
    for (const vertex of this.vertices.values()) this.flushPartials(vertex);
    this.flushParts();
  }

  private handle(event: ProgressEvent): void {
    switch (event.type) {
      case 'vertex.started': {
        const vertex = this.vertex(event.digest, event.name, event.time);
        vertex.name = event.name;
        vertex.started = event.time;
        vertex.running = true;
        this.header(vertex, true);
        return;
      }
      case 'vertex.cached': {
        const vertex = this.vertex(event.digest, event.name, event.time);
        this.end(vertex, 'CACHED', false);
        return;
      }
      case 'vertex.done': {
        const vertex = this.vertex(event.digest, event.name, event.started);
        this.end(vertex, `DONE ${formatSeconds(event.durationMs)}s`, true);
        return;
      }
      case 'vertex.error': {
        const vertex = this.vertex(event.digest, event.name, event.started ?? event.completed);
        this.end(vertex, event.cancelled ? 'CANCELED' : `ERROR: ${event.error}`, false);
        return;
      }
      case 'log':
        this.log(event);
        return;
      case 'progress':
        this.transfer(event);
        return;
      case 'warning': {
        // Under its vertex, as BuildKit's plain printer shows it; the summary at the end lists it again.
        const vertex = event.digest === undefined ? undefined : this.vertices.get(event.digest);
        if (vertex === undefined) return;
        this.header(vertex);
        this.parts.push(`#${vertex.index} WARN: ${event.message}\n`);
        return;
      }
    }
  }

  /** The vertex of `digest`, numbered on first sight; digest-less events belong to `#0`. */
  private vertex(digest: string | undefined, name: string | undefined, time: number): Vertex {
    const key = digest ?? '';
    let vertex = this.vertices.get(key);
    if (vertex === undefined) {
      const index = digest === undefined ? 0 : this.nextIndex++;
      vertex = {
        index,
        name: name ?? digest ?? '',
        started: time,
        running: true,
        partial: new Map(),
        transfers: new Map(),
      };
      this.vertices.set(key, vertex);
    }
    return vertex;
  }

  /** `#N name` when output switches to `vertex` (or `force`), `#M ...` for a vertex left mid-way. */
  private header(vertex: Vertex, force = false): void {
    if (this.current === vertex && !force) return;
    const previous = this.current;
    if (previous !== undefined && previous !== vertex && previous.running && previous.index !== 0)
      this.parts.push(`#${previous.index} ...\n`);
    if (this.printedAny) this.parts.push('\n');
    if (vertex.index !== 0) this.parts.push(`#${vertex.index} ${vertex.name}\n`);
    this.printedAny = true;
    this.current = vertex;
  }

  private end(vertex: Vertex, status: string, completed: boolean): void {
    this.header(vertex);
    this.flushPartials(vertex);
    this.finishTransfers(vertex, completed);
    this.parts.push(`#${vertex.index} ${status}\n`);
    vertex.running = false;
  }

  private prefix(vertex: Vertex, time: number): string {
    return `#${vertex.index} ${formatSeconds(time - vertex.started, 3)} `;
  }

  private log(event: LogEvent): void {
    const vertex = this.vertex(event.digest, undefined, event.time);
    const bytes = Buffer.from(event.data, 'base64');
    let start = 0;
    let newline = bytes.indexOf(10);
    if (newline >= 0) this.header(vertex);
    while (newline >= 0) {
      const pending = vertex.partial.get(event.stream);
      if (pending !== undefined && start === 0) {
        vertex.partial.delete(event.stream);
        this.parts.push(this.prefix(vertex, pending.time), ...pending.chunks);
      } else {
        this.parts.push(this.prefix(vertex, event.time));
      }
      this.parts.push(bytes.subarray(start, newline + 1));
      start = newline + 1;
      newline = bytes.indexOf(10, start);
    }
    if (start < bytes.length) this.addPartial(vertex, event.stream, bytes.subarray(start), event.time);
  }

  private addPartial(vertex: Vertex, stream: Stream, bytes: Buffer, time: number): void {
    let pending = vertex.partial.get(stream);
    if (pending === undefined) {
      pending = { chunks: [], bytes: 0, time };
      vertex.partial.set(stream, pending);
    }
    pending.chunks.push(bytes);
    pending.bytes += bytes.length;
    if (pending.bytes > this.maxPartial) this.flushPartials(vertex, stream);
  }

  private flushPartials(vertex: Vertex, only?: Stream): void {
    for (const [stream, pending] of vertex.partial) {
      if (only !== undefined && stream !== only) continue;
      this.header(vertex);
      this.parts.push(this.prefix(vertex, pending.time), ...pending.chunks, '\n');
      vertex.partial.delete(stream);
    }
  }

  private transfer(event: BytesProgressEvent): void {
    const vertex = this.vertex(event.digest, undefined, event.time);
    let transfer = vertex.transfers.get(event.id);
    if (transfer === undefined) {
      transfer = {
        first: event.started ?? event.time,
        current: 0,
        total: undefined,
        time: event.time,
        printedAt: undefined,
        printedCurrent: undefined,
        done: false,
      };
      vertex.transfers.set(event.id, transfer);
    }
    transfer.current = event.current;
    transfer.total = event.total;
    transfer.time = event.completed ?? event.time;
    const complete =
      event.completed !== undefined || (event.total !== undefined && event.current >= event.total);
    if (transfer.done) return;
    const now = this.now();
    if (complete || transfer.printedAt === undefined || now - transfer.printedAt >= this.transferInterval) {
      this.printTransfer(vertex, event.id, transfer, complete);
      transfer.printedAt = now;
    }
  }

  /** BuildKit's status line: `#N <id>[ <bytes>][ <seconds>s][ done]` (bytes when known, time past 10 ms). */
  private printTransfer(vertex: Vertex, id: string, transfer: Transfer, done: boolean): void {
    this.header(vertex);
    const amount =
      transfer.total || transfer.current ? ` ${formatTransfer(transfer.current, transfer.total)}` : '';
    const ms = transfer.time - transfer.first;
    const elapsed = ms > 10 ? ` ${formatSeconds(ms)}s` : '';
    this.parts.push(`#${vertex.index} ${id}${amount}${elapsed}${done ? ' done' : ''}\n`);
    transfer.printedCurrent = transfer.current;
    transfer.done = done;
  }

  /** When a vertex ends: its unfinished transfers' last state (marked done if the vertex completed). */
  private finishTransfers(vertex: Vertex, completed: boolean): void {
    for (const [id, transfer] of vertex.transfers) {
      if (transfer.done) continue;
      if (completed || transfer.printedCurrent !== transfer.current)
        this.printTransfer(vertex, id, transfer, completed);
    }
  }

  private flushParts(): void {
    if (this.parts.length === 0) return;
    const parts = this.parts;
    this.parts = [];
    this.emit(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
  }
}
