import { parse as peggyParse, SyntaxError as PeggySyntaxError } from './generated/eql-parser.js';
import { diag, hasErrors, type Diagnostic } from './diagnostics.js';
import type { Expr, Pos, Query, Span } from './ir/nodes.js';
import { children, filtersOf } from './ir/walk.js';
import { validate } from './validate.js';

export interface ParseResult {
  query: Query | null;
  diagnostics: Diagnostic[];
}

/** Deeper nesting than this is refused before parsing: the recursive-descent parser would exhaust the stack. */
export const MAX_NESTING = 256;
/**
 * Deeper expression trees are refused after parsing: printers and backends recurse over the tree, and a long
 * unbracketed chain such as `1 + 1 + ... + 1` nests one level per operator.
 */
export const MAX_DEPTH = 1000;
/** Larger queries are refused: the longest published rule is 47 KB; this leaves room for generated value lists. */
export const MAX_QUERY_BYTES = 64 * 1024 * 1024;

const pointSpan = (p: Pos): Span => ({ start: p, end: { ...p, offset: p.offset + 1, column: p.column + 1 } });

/** Parse and validate one EQL query. Never throws on user input. */
export function parseQuery(text: string): ParseResult {
  if (text.length > MAX_QUERY_BYTES) return fail(diag('EQL1006', `query is ${text.length} characters; the limit is ${MAX_QUERY_BYTES}`));
  if (!stripComments(text).trim()) return fail(diag('EQL1005', 'the query is empty'));
  const deep = findExcessNesting(text);
  if (deep) return fail(diag('EQL1003', `brackets nested more than ${MAX_NESTING} deep`, pointSpan(deep)));
  let query: Query;
  try {
    query = peggyParse(text);
  } catch (err) {
    if (err instanceof PeggySyntaxError) {
      const span: Span = { start: err.location.start, end: err.location.end };
      // Custom errors raised by grammar actions carry no expectation list.
      const code = err.expected === null ? 'EQL1002' : 'EQL1001';
      return fail(diag(code, err.expected === null ? err.message : describeSyntaxError(err), span));
    }
    if (err instanceof RangeError) return fail(diag('EQL1003', 'the query is nested too deeply to parse'));
    throw err;
  }
  const deepest = findExcessDepth(query);
  if (deepest) return fail(diag('EQL1003', `the expression is nested more than ${MAX_DEPTH} levels deep`, deepest.span));
  const diagnostics = validate(query);
  return { query: hasErrors(diagnostics) ? null : query, diagnostics };
}

function fail(d: Diagnostic): ParseResult {
  return { query: null, diagnostics: [d] };
}

function describeSyntaxError(err: InstanceType<typeof PeggySyntaxError>): string {
  const wanted = [
    ...new Set(
      (err.expected ?? [])
        .filter((e) => e.type === 'literal' || e.type === 'other' || e.type === 'end')
        .map((e) => (e.type === 'end' ? 'end of query' : e.type === 'literal' ? JSON.stringify(e.text) : e.description!)),
    ),
  ].filter((w) => w !== 'whitespace or comment');
  const found = err.found === null ? 'end of query' : JSON.stringify(err.found);
  const list = wanted.length > 8 ? [...wanted.slice(0, 8), '…'] : wanted;
  return `expected ${list.join(', ') || 'something else'} but found ${found}`;
}

function findExcessDepth(q: Query): Expr | null {
  for (const { filter, keys } of filtersOf(q))
    for (const top of [filter.where, ...keys]) {
      const stack: [Expr, number][] = [[top, 1]];
      while (stack.length) {
        const [e, depth] = stack.pop()!;
        if (depth > MAX_DEPTH) return e;
        for (const c of children(e)) stack.push([c, depth + 1]);
      }
    }
  return null;
}

/** Comments removed (roughly: strings are not tracked), used only to detect an empty query. */
function stripComments(text: string): string {
  return text.replace(/\/\/[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

/** Position of the first bracket deeper than MAX_NESTING outside strings and comments, if any. */
function findExcessNesting(text: string): Pos | null {
  let depth = 0;
  let line = 1;
  let col = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      col = 1;
      continue;
    }
    if (c === '"') {
      // Skip a string; a raw `"""` string has no escapes.
      const raw = text.startsWith('"""', i);
      const end = raw ? text.indexOf('"""', i + 3) : skipQuoted(text, i);
      if (end < 0) return null; // let the parser report the unterminated string
      const stop = raw ? end + 2 : end;
      col += stop - i + 1;
      i = stop;
      continue;
    }
    if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
      // Skip a comment, keeping the line count.
      const end = text[i + 1] === '/' ? text.indexOf('\n', i) : blockCommentEnd(text, i);
      if (end < 0) return null; // let the parser report the unterminated comment
      for (let k = i; k < end; k++) {
        if (text[k] !== '\n') col++;
        else {
          line++;
          col = 1;
        }
      }
      i = end - 1;
      continue;
    }
    if (c === '(' || c === '[') {
      depth++;
      if (depth > MAX_NESTING) return { offset: i, line, column: col };
    } else if (c === ')' || c === ']') depth = Math.max(0, depth - 1);
    col++;
  }
  return null;
}

/** Offset just past the end of the (nested) block comment that opens at `start`, or -1. */
function blockCommentEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length - 1; i++) {
    if (text[i] === '/' && text[i + 1] === '*') {
      depth++;
      i++;
    } else if (text[i] === '*' && text[i + 1] === '/') {
      i++;
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

function skipQuoted(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"' || text[i] === '\n') return i;
  }
  return -1;
}
