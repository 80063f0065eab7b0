// Review warnings of `check`: non-ECS fields (Elastic-specific namespaces noted as such), values that cannot
// match the ECS field type, and wildcards that `==` / `in` take literally. Project-own queries only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuery, reviewQuery, type Diagnostic } from '../src/index.js';

/** Every diagnostic of a valid query: validation (parse) and review, as `CODE text-at-span`. */
function review(q: string, categoryField?: string): string[] {
  const r = parseQuery(q);
  assert.ok(r.query, `${q}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  const all: Diagnostic[] = [...r.diagnostics, ...reviewQuery(r.query!, categoryField)];
  return all.map((d) => `${d.code} ${d.span ? q.slice(d.span.start.offset, d.span.end.offset) : ''}`).sort();
}

test('well-known ECS fields and values raise nothing', () => {
  assert.equal(
    review(
      'process where host.os.type == "windows" and event.type == "start" and process.pid == 4 and process.name : "cmd*.exe" and ' +
        'user.name in~ ("admin", "root") and @timestamp > 0 and process.args_count >= 2 and process.pid == "4" and ?process.parent.name != null',
    ),
    [],
  );
  assert.equal(review('network where destination.port in (443, 8443) and network.direction == "egress"'), []);
  assert.equal(review('any where process.args[0] == "x"'), [], 'indexed fields are not looked up');
});

test('EQL2102: a field that is not ECS and not Elastic-specific', () => {
  assert.equal(review('process where process.nmae == "cmd.exe"'), ['EQL2102 process.nmae']);
  const r = parseQuery('process where ?my.custom.field == 1');
  const [d] = reviewQuery(r.query!);
  assert.is(d!.code, 'EQL2102');
  assert.is(d!.severity, 'warning');
  assert.match(d!.message, /optional/);
});

test('EQL2103 (info): Elastic Defend `Ext` fields and integration namespaces are noted as Elastic-specific', () => {
  const q = 'process where process.Ext.token.integrity_level_name == "high" and winlog.event_data.LogonType == "3" and okta.event_type == "x"';
  const r = parseQuery(q);
  const ds = reviewQuery(r.query!);
  assert.equal(ds.map((d) => [d.code, d.severity]), [['EQL2103', 'info'], ['EQL2103', 'info'], ['EQL2103', 'info']]);
  assert.match(ds[0]!.message, /Elastic Defend extension field \(`Ext`\)/);
  assert.match(ds[1]!.message, /`winlog` integration namespace/);
  // A field is reported once per query even when it is used twice.
  assert.equal(review('process where foo.bar == 1 or foo.bar == 2'), ['EQL2102 foo.bar']);
});

test('EQL2104: a value whose type cannot match the ECS field type', () => {
  assert.equal(review('process where process.pid == "four"'), ['EQL2104 "four"']);
  assert.equal(review('process where process.pid in (4, "x")'), ['EQL2104 "x"']);
  assert.equal(review('process where process.name == true'), ['EQL2104 true']);
  assert.equal(review('process where process.pid : "4*"'), ['EQL2104 process.pid : "4*"']);
  // event.type has allowed values in ECS; a legacy value cannot match ECS data.
  assert.equal(review('process where event.type == "process_started"'), ['EQL2104 "process_started"']);
  // The event category must be an ECS event.category value, unless the rule overrides the category field.
  assert.equal(review('processes where true'), ['EQL2104 processes where true']);
  assert.equal(review('processes where true', 'event.type'), []);
});

test('EQL2101: `*` or `?` inside == and in are literal', () => {
  assert.equal(review('process where process.name == "cmd*.exe"'), ['EQL2101 "cmd*.exe"']);
  assert.equal(review('process where process.name in ("a?.exe", "b.exe", "*c")'), ['EQL2101 "*c"', 'EQL2101 "a?.exe"']);
  assert.equal(review('process where process.name != "x?"'), ['EQL2101 "x?"']);
  assert.equal(review('process where process.name : ("a?.exe", "*c") and process.name like "x*"'), []);
  const [d] = parseQuery('process where process.name == "cmd*"').diagnostics;
  assert.is(d!.severity, 'warning', 'a warning never fails a rule');
});

test.run();
