// Lucene RegExp (what Elasticsearch's `regexp` query runs for EQL `regex`) translated to RE2 syntax.
// Lucene: the pattern always matches the whole value, `.` matches any character including newlines, `^`/`$`
// are ordinary characters, `"…"` quotes a literal, `#` is the empty language and `@` any string
// (elastic/elasticsearch docs/reference/query-languages/query-dsl/regexp-syntax.md, Lucene RegExp javadoc).
// What RE2 cannot express (intersection `&`, complement `~`, numeric intervals `<n-m>`) is refused, as are
// `\d`-style classes, whose meaning differs between Lucene versions (ES-QA notes them as unsupported).
// This is the one Lucene reader: the backends (KQL, SPL, S1QL, Sigma) anchor its output. The output keeps to
// the syntax RE2, PCRE, Python and JavaScript read alike (`\xhh` escapes, `\` before punctuation, `[^\s\S]`),
// except the `(?s:…)` wrapper of the default mode; with `opts.dot` a caller sets its own dot-all flag instead.
import { RE2JS } from 're2js';

export type RegexTranslation = { ok: true; re2: string } | { ok: false; message: string };

export interface RegexOptions {
  /**
   * What Lucene's `.` (any character) becomes. Given, the output has no `(?s:…)` wrapper: a caller passing `.`
   * must set its engine's dot-all flag (`s`), one passing a class such as `[^\x00]` gets exactly that class.
   */
  dot?: string;
  /** Characters (regex class text) a negated class must also exclude, so it covers no more than `dot`. */
  negatedAlsoExcludes?: string;
}

const RE2_SPECIAL = new Set([...'\\^$.|?*+()[]{}']);
const PREDEFINED = new Set([...'dDsSwW']);

/** Control characters and the backtick (a Splunk macro delimiter) as `\xhh`, valid in every target dialect. */
const escapeRaw = (c: string) => (/^[\x00-\x1f\x7f`]$/.test(c) ? `\\x${c.codePointAt(0)!.toString(16).padStart(2, '0')}` : null);

/**
 * Translate a Lucene regular expression; `ci` folds ASCII letters only, as Lucene's case-insensitive flag does
 * (the output carries the folding as `[aA]` classes, so callers add no `i` flag for it).
 */
export function luceneToRe2(pattern: string, ci: boolean, opts: RegexOptions = {}): RegexTranslation {
  const cps = Array.from(pattern);
  const dot = opts.dot ?? '(?s:.)';
  let out = '';
  let i = 0;
  const lit = (c: string) => {
    if (ci && /^[a-zA-Z]$/.test(c)) return `[${c.toLowerCase()}${c.toUpperCase()}]`;
    return RE2_SPECIAL.has(c) ? '\\' + c : escapeRaw(c) ?? c;
  };
  while (i < cps.length) {
    const c = cps[i]!;
    switch (c) {
      case '\\': {
        const n = cps[i + 1];
        if (n === undefined) return { ok: false, message: 'the pattern ends with a lone backslash' };
        if (PREDEFINED.has(n)) return { ok: false, message: `\`\\${n}\` is not a portable Lucene character class; write it as a bracket class such as [0-9]` };
        out += lit(n);
        i += 2;
        continue;
      }
      case '"': {
        const end = cps.indexOf('"', i + 1);
        if (end < 0) return { ok: false, message: 'unterminated `"` quoted string' };
        out += '(?:' + cps.slice(i + 1, end).map(lit).join('') + ')';
        i = end + 1;
        continue;
      }
      case '.':
        out += dot;
        break;
      case '#':
        // The empty language: a class of no character.
        out += '[^\\s\\S]';
        break;
      case '@':
        out += opts.dot === undefined ? "(?s:.*)" : `${dot}*`;
        break;
      case '&':
        return { ok: false, message: 'Lucene intersection `&` has no RE2 equivalent' };
      case '~':
        return { ok: false, message: 'Lucene complement `~` has no RE2 equivalent' };
      case '<':
        return { ok: false, message: 'Lucene numeric interval `<n-m>` is not translated' };
      case '(':
        out += '(?:';
        break;
      case ')':
      case '|':
      case '*':
      case '+':
      case '?':
        out += c;
        break;
      case '{': {
        const close = cps.indexOf('}', i);
        const body = close < 0 ? '' : cps.slice(i + 1, close).join('');
        if (!/^\d+(,\d*)?$/.test(body)) return { ok: false, message: `invalid repetition \`{${body}\`` };
        out += `{${body}}`;
        i = close + 1;
        continue;
      }
      case '[': {
        const r = charClass(cps, i, ci, opts.negatedAlsoExcludes ?? '');
        if (!r.ok) return r;
        out += r.re2;
        i = r.next;
        continue;
      }
      default:
        out += lit(c);
    }
    i++;
  }
  const re2 = opts.dot === undefined ? '(?s:' + out + ')' : out;
  try {
    RE2JS.compile(re2);
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  return { ok: true, re2 };
}

function charClass(cps: string[], start: number, ci: boolean, negExtra: string): { ok: true; re2: string; next: number } | { ok: false; message: string } {
  let i = start + 1;
  const negated = cps[i] === '^';
  if (negated) i++;
  const ranges: [number, number][] = [];
  const readChar = (): number | null => {
    const c = cps[i];
    if (c === undefined) return null;
    if (c === '\\') {
      const n = cps[i + 1];
      if (n === undefined) return null;
      i += 2;
      return n.codePointAt(0)!;
    }
    i++;
    return c.codePointAt(0)!;
  };
  let first = true;
  while (i < cps.length && (cps[i] !== ']' || first)) {
    if (cps[i] === '\\' && PREDEFINED.has(cps[i + 1] ?? '')) return { ok: false, message: `\`\\${cps[i + 1]}\` inside a class is not portable` };
    first = false;
    const lo = readChar();
    if (lo === null) break;
    if (cps[i] === '-' && cps[i + 1] !== undefined && cps[i + 1] !== ']') {
      i++;
      const hi = readChar();
      if (hi === null) break;
      if (hi < lo) return { ok: false, message: 'invalid character class range' };
      ranges.push([lo, hi]);
    } else ranges.push([lo, lo]);
  }
  if (cps[i] !== ']') return { ok: false, message: 'unterminated character class `[`' };
  if (ci)
    for (const [lo, hi] of [...ranges]) {
      for (const [a, b, d] of [[97, 122, -32], [65, 90, 32]] as const) {
        const x = Math.max(lo, a);
        const y = Math.min(hi, b);
        if (x <= y) ranges.push([x + d, y + d]);
      }
    }
  const ch = (n: number) => {
    const c = String.fromCodePoint(n);
    return '\\[]^-'.includes(c) ? '\\' + c : escapeRaw(c) ?? c;
  };
  const body = ranges.map(([a, b]) => (a === b ? ch(a) : `${ch(a)}-${ch(b)}`)).join('');
  return { ok: true, re2: `[${negated ? '^' : ''}${body}${negated ? negExtra : ''}]`, next: i + 1 };
}
