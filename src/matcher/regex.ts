// Lucene RegExp (what Elasticsearch's `regexp` query runs for EQL `regex`) translated to RE2 syntax.
// Lucene: the pattern always matches the whole value, `.` matches any character including newlines, `^`/`$`
// are ordinary characters, `"…"` quotes a literal, `#` is the empty language and `@` any string
// (elastic/elasticsearch docs/reference/query-languages/query-dsl/regexp-syntax.md, Lucene RegExp javadoc).
// What RE2 cannot express (intersection `&`, complement `~`, numeric intervals `<n-m>`) is refused, as are
// `\d`-style classes, whose meaning differs between Lucene versions (ES-QA notes them as unsupported).
import { RE2JS } from 're2js';

export type RegexTranslation = { ok: true; re2: string } | { ok: false; message: string };

const RE2_SPECIAL = new Set([...'\\^$.|?*+()[]{}']);
const PREDEFINED = new Set([...'dDsSwW']);

/** Translate a Lucene regular expression; `ci` folds ASCII letters only, as Lucene's case-insensitive flag does. */
export function luceneToRe2(pattern: string, ci: boolean): RegexTranslation {
  const cps = Array.from(pattern);
  let out = '';
  let i = 0;
  const lit = (c: string) => {
    if (ci && /^[a-zA-Z]$/.test(c)) return `[${c.toLowerCase()}${c.toUpperCase()}]`;
    return RE2_SPECIAL.has(c) ? '\\' + c : c === '\n' ? '\\n' : c;
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
        out += '(?s:.)';
        break;
      case '#':
        out += '[^\\x{0}-\\x{10FFFF}]';
        break;
      case '@':
        out += '(?s:.*)';
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
        const r = charClass(cps, i, ci);
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
  const re2 = '(?s:' + out + ')';
  try {
    RE2JS.compile(re2);
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  return { ok: true, re2 };
}

function charClass(cps: string[], start: number, ci: boolean): { ok: true; re2: string; next: number } | { ok: false; message: string } {
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
  const hex = (n: number) => `\\x{${n.toString(16)}}`;
  const body = ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('');
  return { ok: true, re2: `[${negated ? '^' : ''}${body}]`, next: i + 1 };
}
