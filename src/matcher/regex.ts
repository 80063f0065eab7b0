// Lucene RegExp (what Elasticsearch's `regexp` query runs for EQL `regex`) translated to RE2 syntax.
// Lucene: the pattern always matches the whole value, `.` matches any character including newlines, `^`/`$`
// are ordinary characters, `"…"` quotes a literal, `#` is the empty language and `@` any string
// (elastic/elasticsearch docs/reference/query-languages/query-dsl/regexp-syntax.md, Lucene RegExp javadoc).
// Elasticsearch 8.x ships Lucene 9.x and 9.x ships Lucene 10.x (elastic/elasticsearch
// build-tools-internal/version.properties: 8.12.1 → 9.9.2, 9.4.2 → 10.4.0). Since Lucene 9.0 (lucene/MIGRATE.md,
// LUCENE-9336 and LUCENE-9370) RegExp reads `\d \s \w` as the ASCII classes [0-9], [\t\n\r ] (only those four) and
// [0-9A-Z_a-z], `\D \S \W` as their complements over all code points, also inside `[…]`, and rejects a backslash
// before any other ASCII letter (RegExp.expandPredefined in 9.x, expandPreDefined in 10.x, apache/lucene). Case
// folding (`regex~`, ASCII_CASE_INSENSITIVE) folds single characters, including those listed in a class, but not
// ranges nor predefined classes; Lucene 9 folds ASCII only. Lucene 10 since apache/lucene#14192 (2025) folds by Unicode
// case folding instead, so on Elasticsearch 9.x non-ASCII letters (and `k`/`s`, whose orbits hold U+212A/U+017F)
// may fold more widely: this translation keeps Lucene 9's ASCII reading, as the native matcher does.
// One reading differs between the two: an escaped character before `-` in a class starts a range in Lucene 9
// and is a lone character in Lucene 10; it is refused. Intersection `&`, complement `~` and numeric intervals
// `<n-m>` have no RE2 equivalent and are refused.
// This is the one Lucene reader: the matcher and the backends (KQL, SPL, S1QL, Sigma) anchor its output. The
// output keeps to the syntax RE2, PCRE, Python and JavaScript read alike (`\xhh` escapes, `\` before punctuation,
// `[^\s\S]`), except the `(?s:…)` wrapper of the default mode; with `opts.dot` a caller sets its own dot-all flag.
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
const MAX_CODE_POINT = 0x10ffff;

type Range = readonly [number, number];

/** Lucene's predefined classes (ASCII), the capitals being their complements. */
const PREDEFINED: Record<string, readonly Range[]> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0d, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

/** The code points of `\c` when c names a predefined class. */
function predefined(c: string | undefined): readonly Range[] | null {
  if (c === undefined || !'dDsSwW'.includes(c)) return null;
  const set = PREDEFINED[c.toLowerCase()]!;
  return c === c.toLowerCase() ? set : complement(set);
}

/** Sorted, merged ranges. */
function normalize(rs: readonly Range[]): Range[] {
  const out: [number, number][] = [];
  for (const [a, b] of [...rs].sort((x, y) => x[0] - y[0])) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Every code point not in `rs`. */
function complement(rs: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [a, b] of normalize(rs)) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** A Lucene escape before this ASCII letter is an error (LUCENE-9370), unless it names a predefined class. */
const badEscape = (c: string) => /^[a-zA-Z]$/.test(c) && !'dDsSwW'.includes(c);
const badEscapeMessage = (c: string) => `Lucene (9.0 and later) rejects \`\\${c}\`: a backslash may precede a letter only in \`\\d \\D \\s \\S \\w \\W\``;

/** Control characters and the backtick (a Splunk macro delimiter) as `\xhh`, valid in every target dialect. */
const escapeRaw = (c: string) => (/^[\x00-\x1f\x7f`]$/.test(c) ? `\\x${c.codePointAt(0)!.toString(16).padStart(2, '0')}` : null);

/**
 * Translate a Lucene regular expression; `ci` folds ASCII letters, also those listed in a class but not ranges, as
 * Lucene 9's case-insensitive flag does (the output carries the folding as `[aA]` classes, so callers add no `i` flag).
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
        const set = predefined(n);
        if (set) out += classOf(set, false, dot, opts.negatedAlsoExcludes ?? '');
        else if (badEscape(n)) return { ok: false, message: badEscapeMessage(n) };
        else out += lit(n);
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
        const r = charClass(cps, i, ci, dot, opts.negatedAlsoExcludes ?? '');
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

/** Regex class text for ranges (members are written in the given order). */
function rangesText(ranges: readonly Range[]): string {
  const ch = (n: number) => {
    const c = String.fromCodePoint(n);
    return '\\[]^-'.includes(c) ? '\\' + c : escapeRaw(c) ?? c;
  };
  return ranges.map(([a, b]) => (a === b ? ch(a) : `${ch(a)}-${ch(b)}`)).join('');
}

/**
 * A class matching `members` (or every other code point when `negated`). A set reaching the last code point is
 * written as the negation of its bounded complement, so no engine-specific escape for U+10FFFF is needed.
 */
function classOf(members: readonly Range[], negated: boolean, dot: string, negExtra: string): string {
  const unbounded = members.some(([, b]) => b === MAX_CODE_POINT);
  if (!unbounded) return `[${negated ? '^' : ''}${rangesText(members)}${negated ? negExtra : ''}]`;
  const rest = complement(members);
  if (negated) return rest.length ? `[${rangesText(rest)}]` : '[^\\s\\S]';
  return rest.length ? `[^${rangesText(rest)}${negExtra}]` : dot;
}

function charClass(cps: string[], start: number, ci: boolean, dot: string, negExtra: string): { ok: true; re2: string; next: number } | { ok: false; message: string } {
  let i = start + 1;
  const negated = cps[i] === '^';
  if (negated) i++;
  const ranges: Range[] = [];
  const folded: Range[] = [];
  let first = true;
  while (i < cps.length && (cps[i] !== ']' || first)) {
    first = false;
    if (cps[i] === '\\') {
      const n = cps[i + 1];
      if (n === undefined) break;
      i += 2;
      const set = predefined(n);
      if (set) {
        ranges.push(...set);
        continue;
      }
      if (badEscape(n)) return { ok: false, message: badEscapeMessage(n) };
      if (n !== '\\' && cps[i] === '-') return { ok: false, message: `\`\\${n}-\` in a class is a range in Lucene 9 (Elasticsearch 8.x) but a lone character in Lucene 10 (Elasticsearch 9.x)` };
      const cp = n.codePointAt(0)!;
      ranges.push([cp, cp]);
      continue;
    }
    const lo = cps[i]!.codePointAt(0)!;
    i++;
    if (cps[i] === '-') {
      const hiChar = cps[i + 1] === '\\' ? cps[i + 2] : cps[i + 1];
      if (hiChar === undefined) break;
      if (cps[i + 1] === ']') return { ok: false, message: 'a `-` before `]` makes a range ending in `]` in Lucene; escape it as `\\-`' };
      i += cps[i + 1] === '\\' ? 3 : 2;
      const hi = hiChar.codePointAt(0)!;
      if (hi < lo) return { ok: false, message: 'invalid character class range' };
      // Lucene folds no range under case-insensitivity.
      ranges.push([lo, hi]);
      continue;
    }
    ranges.push([lo, lo]);
    // A listed ASCII letter folds (bit 0x20 separates the cases).
    if (ci && /^[a-zA-Z]$/.test(String.fromCodePoint(lo))) folded.push([lo ^ 0x20, lo ^ 0x20]);
  }
  if (cps[i] !== ']') return { ok: false, message: 'unterminated character class `[`' };
  return { ok: true, re2: classOf([...ranges, ...folded], negated, dot, negExtra), next: i + 1 };
}
