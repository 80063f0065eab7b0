import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuery, printQuery, irEqual, stripSpans, type Query, type Expr } from '../src/index.js';

function ok(q: string): Query {
  const r = parseQuery(q);
  assert.ok(r.query, `should parse: ${q}\n${r.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n')}`);
  return r.query!;
}
const where = (q: string): Expr => {
  const b = ok(q).body;
  assert.is(b.kind, 'EventQuery');
  return (b as Extract<Query['body'], { kind: 'EventQuery' }>).filter.where;
};
const codes = (q: string) => parseQuery(q).diagnostics.map((d) => d.code);
const at = (q: string) => parseQuery(q).diagnostics.map((d) => `${d.code}@${d.span?.start.line}:${d.span?.start.column}`);

test('precedence: or < and < not < comparison < additive < multiplicative < unary', () => {
  const e = where('any where a == 1 or b == 2 and not c == 3');
  assert.is(e.kind, 'Or');
  const or = e as Extract<Expr, { kind: 'Or' }>;
  assert.is(or.args[1]!.kind, 'And');
  const and = or.args[1] as Extract<Expr, { kind: 'And' }>;
  assert.is(and.args[1]!.kind, 'Not');
  assert.is((and.args[1] as Extract<Expr, { kind: 'Not' }>).arg.kind, 'Compare');
  const arith = where('any where x == 1 + 2 * 3 - -4');
  assert.equal(stripSpans((arith as Extract<Expr, { kind: 'Compare' }>).right), {
    kind: 'Arith',
    op: '-',
    left: {
      kind: 'Arith',
      op: '+',
      left: { kind: 'Literal', type: 'integer', value: 1 },
      right: { kind: 'Arith', op: '*', left: { kind: 'Literal', type: 'integer', value: 2 }, right: { kind: 'Literal', type: 'integer', value: 3 } },
    },
    right: { kind: 'Literal', type: 'integer', value: -4 },
  });
});

test('and/or chains are flattened; parentheses group', () => {
  const e = where('any where a == 1 and (b == 2 and c == 3) and (d == 4 or e == 5)');
  assert.is(e.kind, 'And');
  assert.is((e as Extract<Expr, { kind: 'And' }>).args.length, 4);
});

test('one comparison per level: a < b <= c is a syntax error', () => {
  assert.equal(codes('any where a < 1 <= 2'), ['EQL1001']);
});

test('strings: escapes, \\u{...}, triple-quoted raw strings with trailing quotes', () => {
  const lit = (q: string) => ((where(`any where x == ${q}`) as Extract<Expr, { kind: 'Compare' }>).right as { value: unknown }).value;
  assert.is(lit('"a\\tb\\n\\"c\\\\"'), 'a\tb\n"c\\');
  assert.is(lit('"\\u{41}\\u{1F600}\\u{00000041}"'), 'A😀A');
  assert.is(lit('"""C:\\Windows\\*"""'), 'C:\\Windows\\*');
  assert.is(lit('"""a""""'), 'a"');
  assert.is(lit('"""a"""""'), 'a""');
  assert.is(lit('"\\b\\f\\r\\\'"'), "\b\f\r'");
  assert.equal(codes('any where x == "\\q"'), ['EQL1002']);
  assert.equal(codes('any where x == "\\u{1}"'), ['EQL1002']);
  assert.equal(codes('any where x == "\\u{110000}"'), ['EQL1002']);
  assert.equal(codes("any where x == 'single'"), ['EQL1002']);
  assert.equal(codes('any where x == ?"raw"'), ['EQL1002']);
  assert.equal(codes('any where x == "a\nb"'), ['EQL1002']);
});

test('numbers: int, float, exponent, negative', () => {
  const lit = (q: string) => stripSpans((where(`any where x == ${q}`) as Extract<Expr, { kind: 'Compare' }>).right);
  assert.equal(lit('42'), { kind: 'Literal', type: 'integer', value: 42 });
  assert.equal(lit('1.5'), { kind: 'Literal', type: 'float', value: 1.5 });
  assert.equal(lit('1.'), { kind: 'Literal', type: 'float', value: 1 });
  assert.equal(lit('.5e2'), { kind: 'Literal', type: 'float', value: 50 });
  assert.equal(lit('1.5E-3'), { kind: 'Literal', type: 'float', value: 0.0015 });
  assert.equal(lit('-7'), { kind: 'Literal', type: 'integer', value: -7 });
  assert.equal(lit('true'), { kind: 'Literal', type: 'boolean', value: true });
});

test('null comparisons become presence tests', () => {
  assert.equal(stripSpans(where('any where x != null')), { kind: 'Exists', arg: { kind: 'Field', path: ['x'], name: 'x', optional: false } });
  assert.equal(stripSpans(where('any where x == null')), {
    kind: 'Not',
    arg: { kind: 'Exists', arg: { kind: 'Field', path: ['x'], name: 'x', optional: false } },
  });
});

test('fields: dotted, backticked with doubled backtick, @timestamp, optional, array index, keyword after a dot', () => {
  const f = (q: string) => stripSpans((where(`any where ${q} == 1`) as Extract<Expr, { kind: 'Compare' }>).left);
  assert.equal(f('process.parent.name'), { kind: 'Field', path: ['process', 'parent', 'name'], name: 'process.parent.name', optional: false });
  assert.equal(f('`my-field`.x'), { kind: 'Field', path: ['my-field', 'x'], name: 'my-field.x', optional: false });
  assert.equal(f('`a``b`'), { kind: 'Field', path: ['a`b'], name: 'a`b', optional: false });
  assert.equal(f('@timestamp'), { kind: 'Field', path: ['@timestamp'], name: '@timestamp', optional: false });
  assert.equal(f('?user.name'), { kind: 'Field', path: ['user', 'name'], name: 'user.name', optional: true });
  assert.equal(f('process.args[0]'), { kind: 'Field', path: ['process', 'args', 0], name: 'process.args[0]', optional: false });
  assert.equal(f('event.sequence'), { kind: 'Field', path: ['event', 'sequence'], name: 'event.sequence', optional: false });
  assert.equal(f('`sequence`'), { kind: 'Field', path: ['sequence'], name: 'sequence', optional: false });
  assert.equal(f('`true`'), { kind: 'Field', path: ['true'], name: 'true', optional: false });
});

test('pattern operators: analysed shapes and case flags', () => {
  const m = where('any where x : ("abc", "abc*", "*abc", "*abc*", "a?c", "a*b*c", "*", "C:\\\\*\\\\x")') as Extract<Expr, { kind: 'Match' }>;
  assert.is(m.caseInsensitive, true);
  assert.equal(
    m.patterns.map((p) => [p.kind, 'text' in p ? p.text : null]),
    [
      ['exact', 'abc'],
      ['prefix', 'abc'],
      ['suffix', 'abc'],
      ['contains', 'abc'],
      ['glob', null],
      ['glob', null],
      ['prefix', ''],
      ['glob', null],
    ],
  );
  assert.is((where('any where x like "a*"') as Extract<Expr, { kind: 'Match' }>).caseInsensitive, false);
  assert.is((where('any where x like~ "a*"') as Extract<Expr, { kind: 'Match' }>).caseInsensitive, true);
  const re = where('any where x regex~ "a.*"') as Extract<Expr, { kind: 'Match' }>;
  assert.equal([re.op, re.caseInsensitive, re.patterns[0]!.kind], ['regex~', true, 'regex']);
  assert.is((where('any where x regex "a.*"') as Extract<Expr, { kind: 'Match' }>).caseInsensitive, false);
  // `:` takes only constant strings
  assert.equal(codes('any where x : y'), ['EQL1001']);
});

test('in, in~, not in (both spellings), list with trailing comma', () => {
  const i = where('any where x in~ ("A", "b",)') as Extract<Expr, { kind: 'In' }>;
  assert.equal([i.kind, i.caseInsensitive, i.values.length], ['In', true, 2]);
  const n1 = stripSpans(where('any where x not in ("a")'));
  const n2 = stripSpans(where('any where not x in ("a")'));
  assert.equal(n1, n2);
  assert.is((n1 as { kind: string }).kind, 'Not');
});

test('functions: case-insensitive names, ~ variants, arity, legacy and unknown', () => {
  const c = where('any where STARTSWITH~(process.name, "cmd")') as Extract<Expr, { kind: 'Call' }>;
  assert.equal([c.name, c.caseInsensitive, c.known], ['startsWith', true, true]);
  assert.is((where('any where cidrmatch(source.ip, "10.0.0.0/8", "::1/128")') as Extract<Expr, { kind: 'Call' }>).name, 'cidrMatch');
  assert.equal(codes('any where length(a, b) > 1'), ['EQL2002']);
  assert.equal(codes('any where length~(a) > 1'), ['EQL2003']);
  assert.equal(codes('any where frobnicate(a)'), ['EQL2001']);
  assert.equal(codes('any where arraySearch(a, b)'), ['EQL2010']);
  assert.equal(codes('any where cidrMatch(source.ip, "10.0.0.0/33")'), ['EQL2014']);
});

test('field-to-field comparison is rejected, as Elasticsearch does', () => {
  assert.equal(codes('any where a == b'), ['EQL2004']);
  assert.equal(codes('any where length(a) > length(b)'), ['EQL2004']);
  assert.equal(codes('any where a in ("x", b)'), ['EQL2004']);
});

test('wildcards under == and in~ are flagged as literal', () => {
  assert.equal(at('any where a == "x*"'), ['EQL2101@1:16']);
  assert.equal(at('any where a in~ ("x?", "y")'), ['EQL2101@1:18']);
  assert.ok(parseQuery('any where a == "x*"').query, 'a warning does not fail the parse');
});

test('event category: identifier, any, string (quoted and raw)', () => {
  const cat = (q: string) => (ok(q).body as Extract<Query['body'], { kind: 'EventQuery' }>).filter.category;
  assert.is(cat('process where true'), 'process');
  assert.is(cat('any where true'), null);
  assert.is(cat('"my-category" where true'), 'my-category');
  assert.is(cat('"""6cat""" where true'), '6cat');
});

test('sequences: by, maxspan units, per-step by, runs, missing events, until', () => {
  const q = ok(`sequence by host.id, user.id with maxspan=30s
    [process where true] by process.entity_id with runs=2
    ![file where true] by process.entity_id
    [network where true] by process.entity_id
  until [process where event.type == "end"] by process.entity_id`);
  const s = q.body as Extract<Query['body'], { kind: 'Sequence' }>;
  assert.is(s.kind, 'Sequence');
  assert.is(s.by.length, 2);
  assert.equal([s.maxspan!.value, s.maxspan!.unit, s.maxspan!.ms], [30, 's', 30000]);
  assert.equal(s.steps.map((t) => [t.missing, t.runs, t.by.length]), [
    [false, 2, 1],
    [true, null, 1],
    [false, null, 1],
  ]);
  assert.ok(s.until);
  for (const [u, ms] of [['500ms', 500], ['2m', 120000], ['1h', 3600000], ['2d', 172800000]] as const) {
    const b = ok(`sequence with maxspan=${u} [a where true] [b where true]`).body as Extract<Query['body'], { kind: 'Sequence' }>;
    assert.is(b.maxspan!.ms, ms);
  }
  assert.equal(codes('sequence [a where true]'), ['EQL2005']);
  assert.ok(parseQuery('sequence by x [a where true] with runs=3').query, 'one term with runs is a sequence');
  assert.equal(codes('sequence [a where true] by x [b where true]'), ['EQL2006']);
  assert.equal(codes('sequence [a where true] ![b where true]'), ['EQL2007']);
  assert.equal(codes('sequence [a where true] with runs=101 [b where true]'), ['EQL2008']);
  assert.equal(codes('sequence with maxspan=1m ![a where true] ![b where true]'), ['EQL2005']);
});

test('samples and pipes', () => {
  const q = ok('sample by host.id [process where true] [file where true] | head 3 | tail 1');
  assert.is(q.body.kind, 'Sample');
  assert.equal(q.pipes.map((p) => [p.name, p.count]), [
    ['head', 3],
    ['tail', 1],
  ]);
  assert.equal(codes('sample by x [a where true]'), ['EQL2009']);
  assert.equal(at('process where true | unique process.name'), ['EQL1004@1:20']);
  assert.equal(codes('process where true | count'), ['EQL1004']);
  assert.equal(codes('process where true | head'), ['EQL2011']);
});

test('comments: line, block, nested block, before the query', () => {
  ok('// leading\n/* a /* nested */ still comment */ process /* x */ where // y\n true');
  assert.equal(codes('process where true /* unterminated'), ['EQL1001']);
});

test('syntax errors say what was expected and where', () => {
  const r = parseQuery('process where a = 1');
  assert.equal(r.diagnostics.map((d) => [d.code, d.span!.start.column]), [['EQL1001', 17]]);
  assert.match(r.diagnostics[0]!.message, /comparison operator/);
  assert.match(r.diagnostics[0]!.message, /found "="/);
  assert.equal(codes(''), ['EQL1005']);
  assert.equal(codes('  // only a comment\n'), ['EQL1005']);
});

test('printer: canonical text re-parses to the same IR', () => {
  const queries = [
    'any where a == 1 or b == 2 and not c == 3',
    'any where not (a == 1 or b == 2)',
    'any where (a - (b - c)) == 1',
    'any where -(d) * (3 + c) % 2 == 5',
    'any where x : "a\\"b\\\\c\\n\\u{07}"',
    'any where x not in~ ("a", "b") and y == null and z != null',
    'any where `my field`.`and` == true and ?opt.x == 1.0',
    '"my-cat" where startsWith~(x, "a") and between(a, "b", "c", true) == "d"',
    'sequence by a with maxspan=5m [p where true] by b with runs=2 ![q where true] by c until [r where true] by d | tail 3',
    'sample by h [a where x < 1] [b where y >= 2.5e10]',
  ];
  for (const q of queries) {
    const ir = ok(q);
    const printed = printQuery(ir);
    const again = parseQuery(printed);
    assert.ok(again.query, `printed text parses: ${printed}`);
    assert.ok(irEqual(ir, again.query), `round trip of ${q}\nprinted: ${printed}`);
  }
  assert.is(printQuery(ok('any  where  a==1   and b :  ("x","y")')), 'any where a == 1 and\n  b : ("x", "y")');
});

test.run();
