import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { goldenCases } from '../helpers/golden.js';
import { shared } from '../helpers/shared.js';
import { loadRules } from '../../src/check.js';
import { convertRule } from '../../src/convert.js';
import { parseS1ql, S1qlParseError } from '../../src/verify/s1ql-parse.js';
import { parseS1qlFilter } from '../helpers/s1ql.js';

const isParseError = (e: unknown) => e instanceof S1qlParseError;

test('every S1QL golden output parses in its dialect', () => {
  let n = 0;
  for (const c of goldenCases())
    for (const [file, dialect] of [['s1ql.golden', '2'], ['s1ql.1.golden', '1']] as const) {
      const text = readFileSync(join(c.dir, file), 'utf8');
      const output = text.slice(text.indexOf('\noutput:\n') + 9).replace(/\n$/, '');
      if (output === '(none)') continue;
      try {
        parseS1ql(output, dialect);
        n++;
      } catch (e) {
        assert.unreachable(`golden/${c.name}/${file}: ${(e as Error).message}`);
      }
    }
  assert.ok(n >= 60, `${n} outputs parsed`);
});

test('2.0 strings decode \\\\, \\\' and \\"; a lone backslash is rejected', () => {
  const q = parseS1qlFilter("f in:matchcase ('a\\\\b', 'it\\'s', 'q\\\"')");
  assert.equal(q.where, { type: 'pred', field: 'f', op: 'in:matchcase', value: { kind: 'list', values: ['a\\b', "it's", 'q"'] } });
  assert.throws(() => parseS1ql("f contains:anycase 'a\\b'"), isParseError);
  assert.throws(() => parseS1ql("f = 'unterminated"), isParseError);
});

test('1.0 strings keep backslashes; a quote inside or a backslash before the closing quote is rejected', () => {
  const q = parseS1qlFilter('TgtFilePath ContainsCIS "C:\\Windows\\Temp"', '1');
  assert.equal(q.where, { type: 'pred', field: 'TgtFilePath', op: 'containscis', value: { kind: 'string', value: 'C:\\Windows\\Temp' } });
  assert.throws(() => parseS1ql('TgtFilePath = "C:\\Temp\\"', '1'), isParseError);
  assert.throws(() => parseS1ql('TgtFilePath = "a\\"b"', '1'), isParseError);
});

test('precedence: and binds tighter than or; not applies to one term', () => {
  const q = parseS1qlFilter("a = 'x' or b = 'y' and not c = 'z'");
  assert.is(q.where.type, 'or');
  const right = (q.where as { args: { type: string; args?: { type: string }[] }[] }).args[1]!;
  assert.is(right.type, 'and');
  assert.is(right.args![1]!.type, 'not');
});

test('operators belong to their dialect', () => {
  assert.throws(() => parseS1ql('TgtProcName ContainsCIS "x"', '2'), isParseError);
  assert.throws(() => parseS1ql("tgt.process.name contains:anycase 'x'", '1'), isParseError);
  assert.throws(() => parseS1ql("x = 1\n| limit 5", '1'), isParseError);
  assert.is(parseS1ql("x = 1\n| limit 5").pipes[0]!.count, 5);
  assert.is(parseS1qlFilter('NOT SrcPort EXISTS', '1').where.type, 'not');
  assert.is(parseS1qlFilter('not (src.port.number = *)').where.type, 'not');
});

test('conformance: every corpus rule that converts parses back, in both dialects', () => {
  const corpus = shared('corpus');
  if (!corpus) return;
  const { rules } = loadRules([corpus]);
  for (const dialect of ['2', '1'] as const) {
    let converted = 0;
    for (const r of rules) {
      const [res] = convertRule(r, ['s1ql'], { s1qlDialect: dialect });
      if (!res!.output) continue;
      converted++;
      try {
        parseS1ql(res!.output, dialect);
      } catch (e) {
        assert.unreachable(`${res!.path} (dialect ${dialect}): ${(e as Error).message}\n${res!.output}`);
      }
    }
    console.log(`s1ql dialect ${dialect}: ${converted}/${rules.length} corpus rules convert (${((100 * converted) / rules.length).toFixed(1)}%), all parse`);
  }
});


test('2.0 joins: named subqueries with columns, nested joins, keys and row filters; malformed joins rejected', () => {
  const q = parseS1ql(
    [
      '| sql inner join',
      "  ab = (| sql inner join a = (x = 'a' | columns k1 = agent.uuid, t1 = timestamp), b = (x = 'b' | columns k1 = agent.uuid, t2 = timestamp) on k1),",
      "  c = (x = 'c' and agent.uuid = * | columns k1 = agent.uuid, t3 = timestamp)",
      '  on k1',
      '| filter t1 <= t2 and t3 - t1 <= 5000000000',
    ].join('\n'),
  );
  assert.is(q.type, 'joinquery');
  if (q.type !== 'joinquery') return;
  assert.equal(q.join.on, ['k1']);
  assert.equal(q.join.sides.map((s) => [s.name, s.query.type]), [['ab', 'join'], ['c', 'select']]);
  assert.equal(q.filters, [
    {
      type: 'and',
      args: [
        { type: 'cmp', op: '<=', left: { type: 'col', name: 't1' }, right: { type: 'col', name: 't2' } },
        { type: 'cmp', op: '<=', left: { type: 'arith', op: '-', left: { type: 'col', name: 't3' }, right: { type: 'col', name: 't1' } }, right: { type: 'int', text: '5000000000' } },
      ],
    },
  ]);
  const ok = "| sql inner join a = (x = 'a' | columns k1 = f), b = (x = 'b' | columns k1 = f) on k1";
  assert.is(parseS1ql(ok).type, 'joinquery');
  assert.throws(() => parseS1ql(ok.replace(' on k1', '')), isParseError); // no keys
  assert.throws(() => parseS1ql(ok.replace('| columns k1 = f)', ')')), isParseError); // a subquery without columns
  assert.throws(() => parseS1ql(ok.replace('| sql inner join', 'sql inner join')), isParseError); // join needs its pipe
  assert.throws(() => parseS1ql(ok.replace("'b' |", "'b)' |").replace("'b)'", "'b')")), isParseError); // unbalanced
  assert.throws(() => parseS1ql(ok, '1'), isParseError); // PowerQuery only
});

test.run();
