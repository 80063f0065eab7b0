// Streaming event input: NDJSON (one object per line) or one JSON array, from a file or stdin (`-`).
// Memory stays flat: only the current chunk and the event being parsed are held.
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Ev } from './runtime.js';

export interface ReadStats {
  events: number;
  /** Lines or elements that were not JSON objects: where and why. */
  bad: { at: string; why: string }[];
}

/** Call `onEvent` for every event of `source` in input order. Throws only when the source cannot be read. */
export async function readEvents(source: string, onEvent: (ev: Ev) => void, input?: Readable): Promise<ReadStats> {
  const stream: Readable = input ?? (source === '-' ? process.stdin : createReadStream(source, { highWaterMark: 1 << 20 }));
  const decoder = new StringDecoder('utf8');
  const stats: ReadStats = { events: 0, bad: [] };
  let mode: 'unknown' | 'lines' | 'array' = 'unknown';
  let buf = '';
  let line = 0;
  const array = new ArrayScanner();
  const emit = (text: string, at: () => string) => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      if (stats.bad.length < 100) stats.bad.push({ at: at(), why: (e as Error).message });
      return;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      if (stats.bad.length < 100) stats.bad.push({ at: at(), why: 'not a JSON object' });
      return;
    }
    stats.events++;
    onEvent(v as Ev);
  };
  const feed = (text: string, final: boolean) => {
    if (mode === 'unknown') {
      buf += text;
      const first = /\S/.exec(buf);
      if (!first) return;
      mode = first[0] === '[' ? 'array' : 'lines';
      text = buf;
      buf = '';
    }
    if (mode === 'array') {
      array.feed(text, (el, n) => emit(el, () => `element ${n}`));
      if (final && !array.closed && array.started) stats.bad.push({ at: 'end of input', why: 'the JSON array is not closed' });
      return;
    }
    buf += text;
    let start = 0;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', start)) {
      line++;
      const l = buf.slice(start, nl);
      start = nl + 1;
      if (l.trim()) {
        const n = line;
        emit(l, () => `line ${n}`);
      }
    }
    buf = buf.slice(start);
    if (final && buf.trim()) {
      const n = ++line;
      emit(buf, () => `line ${n}`);
      buf = '';
    }
  };
  for await (const chunk of stream) feed(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer), false);
  feed(decoder.end(), true);
  return stats;
}

/** Cuts a JSON array into its top-level elements without parsing them (strings and nesting are tracked). */
class ArrayScanner {
  started = false;
  closed = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private pending = '';
  private count = 0;

  feed(text: string, onElement: (text: string, n: number) => void): void {
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92) this.escaped = true;
        else if (c === 34) this.inString = false;
        continue;
      }
      if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) {
        if (!this.started) {
          this.started = true;
          from = i + 1;
          continue;
        }
        this.depth++;
      } else if (c === 125 || c === 93) {
        if (this.depth === 0 && c === 93) {
          this.flush(this.pending + text.slice(from, i), onElement);
          this.pending = '';
          from = i + 1;
          this.closed = true;
          continue;
        }
        this.depth--;
      } else if (c === 44 && this.depth === 0) {
        this.flush(this.pending + text.slice(from, i), onElement);
        this.pending = '';
        from = i + 1;
      }
    }
    this.pending += text.slice(from);
  }

  private flush(el: string, onElement: (text: string, n: number) => void) {
    if (el.trim()) onElement(el, ++this.count);
  }
}
