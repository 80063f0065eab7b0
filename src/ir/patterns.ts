import type { GlobPart, Pattern, Span } from './nodes.js';

/**
 * Split an EQL wildcard pattern (`:`, `like`, `like~`) into parts. Elasticsearch has no escape for `*`
 * or `?` in these patterns: a backslash is an ordinary character (StringUtils.toLikePattern).
 */
export function globParts(pattern: string): GlobPart[] {
  const parts: GlobPart[] = [];
  let lit = '';
  for (const ch of pattern) {
    if (ch === '*' || ch === '?') {
      if (lit) parts.push({ t: 'lit', v: lit });
      lit = '';
      // `**` means the same as `*`.
      if (ch === '*' && parts.length && parts[parts.length - 1]!.t === 'any') continue;
      parts.push(ch === '*' ? { t: 'any' } : { t: 'one' });
    } else lit += ch;
  }
  if (lit) parts.push({ t: 'lit', v: lit });
  return parts;
}

/** Classify a wildcard pattern into the cheapest shape a backend can render. */
export function analyseWildcard(value: string, span: Span): Pattern {
  const parts = globParts(value);
  const shape = parts.map((p) => (p.t === 'lit' ? 'L' : p.t === 'any' ? '*' : '?')).join('');
  const lit = (i: number) => (parts[i] as { v: string }).v;
  switch (shape) {
    case '':
      return { kind: 'exact', value, text: '', span };
    case 'L':
      return { kind: 'exact', value, text: lit(0), span };
    case '*':
      return { kind: 'prefix', value, text: '', span };
    case 'L*':
      return { kind: 'prefix', value, text: lit(0), span };
    case '*L':
      return { kind: 'suffix', value, text: lit(1), span };
    case '*L*':
      return { kind: 'contains', value, text: lit(1), span };
    default:
      return { kind: 'glob', value, parts, span };
  }
}
