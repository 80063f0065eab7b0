// The `ts` backend: a standalone TypeScript module compiled from a rule. Conditions become plain code (no IR
// at run time); the matcher's run-time library (src/matcher/runtime.ts) is embedded, so the module needs
// nothing from eqlport and agrees with the in-process matcher by construction. Its only dependency is re2js,
// imported only when the rule uses `regex`.
import type { Call, EventFilter, Expr, Field, Pattern, Query } from '../ir/nodes.js';
import { walk } from '../ir/walk.js';
import type { RuleMeta } from '../rules.js';
import { RUNTIME_SOURCE } from '../generated/runtime-source.js';
import { fieldPath, isFloat } from '../matcher/compile.js';
import { luceneToRe2 } from '../matcher/regex.js';
import type { Backend } from '../translate/core.js';

export interface EmitTsOptions {
  /** Category field when the rule has no event_category_override; default `event.category`. */
  categoryField?: string;
  /** Default timestamp field of the emitted matcher; default the rule's timestamp_override or `@timestamp`. */
  timestampField?: string;
}

/** Thrown for what the module cannot express (a regex RE2 cannot run); the message says why. */
export class TsEmitError extends Error {}

const ARITH_FN: Record<string, string> = { add: '+', subtract: '-', multiply: '*', divide: '/', modulo: '%' };
const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };
const CMP_FN: Record<string, string> = { '==': 'eq', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge' };

const js = (v: unknown) => JSON.stringify(v);

/** Emit the module for a parsed rule. */
export function emitTs(query: Query, meta?: Partial<RuleMeta> | null, options: EmitTsOptions = {}): string {
  const g = new Emitter();
  const categoryField = meta?.event_category_override ?? options.categoryField ?? 'event.category';
  const tsField = options.timestampField ?? meta?.timestamp_override ?? '@timestamp';
  const body = query.body;
  const filterFn = (f: EventFilter) => g.filter(f, categoryField);
  const keysFn = (keys: readonly Expr[]) => g.keys(keys);
  let api: string;
  if (body.kind === 'EventQuery') {
    const f = filterFn(body.filter);
    api = `/** True when the event matches the rule (events of an event query are independent). */
export function matches(event: Record<string, unknown>): boolean {
  return ${f}(event);
}
`;
  } else {
    let engine: string;
    if (body.kind === 'Sequence') {
      const term = (s: (typeof body.steps)[number], withMissing = true) =>
        `{ test: ${filterFn(s.filter)}, keys: ${keysFn([...body.by, ...s.by])}${withMissing ? `, missing: ${s.missing}` : ''} }`;
      const terms = body.steps.flatMap((s) => new Array<string>(s.runs ?? 1).fill(term(s)));
      const until = body.until ? term(body.until, false) : 'null';
      engine = `const engine = new SequenceEngine({ terms: [${terms.join(', ')}], until: ${until}, maxspan: ${body.maxspan?.ms ?? null}, maxPending: options.maxPending ?? 100000 });
  const results = () => { engine.finish(); return engine.results; };`;
    } else {
      const terms = body.steps.map((s) => `{ test: ${filterFn(s.filter)}, keys: ${keysFn([...body.by, ...s.by])} }`);
      engine = `const engine = new SampleEngine({ terms: [${terms.join(', ')}] });
  const results = () => engine.results();`;
    }
    const pipes = query.pipes.map((p) => (p.name === 'head' ? `out = out.slice(0, ${p.count ?? 0});` : `out = out.slice(Math.max(0, out.length - ${p.count ?? 0}));`));
    api = `export interface MatcherOptions {
  /** Timestamp field (ISO-8601 or epoch ms); default ${js(tsField)}. */
  timestampField?: string;
  tiebreakerField?: string | null;
  /** Pending sequences kept when there is no maxspan. */
  maxPending?: number;
}

/**
 * A stateful matcher. Feed events in order of timestamp, then tiebreaker (the order Elasticsearch uses);
 * \`finish()\` returns the results: events in term order, null at a missing-event position.
 */
export function createMatcher(options: MatcherOptions = {}) {
  const tsPath = (options.timestampField ?? ${js(tsField)}).split('.');
  const tbPath = options.tiebreakerField ? options.tiebreakerField.split('.') : null;
  ${engine}
  let seq = 0;
  return {
    /** Returns false (and ignores the event) when it has no usable timestamp. */
    push(event: Record<string, unknown>): boolean {
      const ts = toMillis(fieldValues(event, tsPath)[0] ?? null);
      if (ts === null) return false;
      const tb = tbPath ? (fieldValues(event, tbPath)[0] ?? null) : null;
      engine.push({ ev: event, ts, tb, seq: seq++ });
      return true;
    },
    finish(): SeqResult[] {
      let out = results();
      ${pipes.join('\n      ')}
      return out;
    },
  };
}
`;
  }
  const runtime = RUNTIME_SOURCE.replace(/^\/\/.*\n/gm, '').replace(/^export /gm, '');
  const regexHelper = g.usesRegex
    ? `import { RE2JS } from 're2js';

function regex(re2: string): (s: string) => boolean {
  const re = RE2JS.compile(re2);
  return (s) => re.matches(s);
}
`
    : '';
  return `// Generated by eqlport from an Elasticsearch EQL rule${meta?.name ? `: ${oneLine(meta.name)}` : ''}${meta?.rule_id ? ` (${oneLine(meta.rule_id)})` : ''}.
// Standalone: the run-time library below is eqlport's matcher runtime; the rule is compiled to plain code.
${regexHelper}
// ---- run-time library (eqlport src/matcher/runtime.ts); first, so the rule's constants can use it
${runtime}
// ---- rule
${g.decls.join('\n')}

${api}`;
}

const oneLine = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, ' ');

class Emitter {
  decls: string[] = [];
  usesRegex = false;
  private n = 0;

  private name(prefix: string): string {
    return `${prefix}${this.n++}`;
  }

  filter(f: EventFilter, categoryField: string): string {
    const fn = this.name('filter');
    const where = this.pred(f.where);
    const cat = f.category === null ? '' : `hasCategory(ev, ${js(categoryField.split('.'))}, ${js(f.category)}) && `;
    this.decls.push(`function ${fn}(ev: Ev): boolean {\n  return ${cat}${where};\n}`);
    return fn;
  }

  /** Predicate code over `ev` (two-valued and/or/not over atoms, as compile.ts's compilePred). */
  pred(e: Expr): string {
    switch (e.kind) {
      case 'And':
        return `(${e.args.map((a) => this.pred(a)).join(' && ')})`;
      case 'Or':
        return `(${e.args.map((a) => this.pred(a)).join(' || ')})`;
      case 'Not':
        return `!${this.pred(e.arg)}`;
      case 'Compare':
        if (e.op === '!=') return `!${this.atom({ ...e, op: '==' }, 'true')}`;
        return this.atom(e, 'true');
      case 'Exists':
        return `!${this.atom(e.arg, 'null')}`;
      default:
        return this.atom(e, 'true');
    }
  }

  /** An atom: a function true iff some binding of its field occurrences gives `want`. */
  private atom(e: Expr, want: 'true' | 'null'): string {
    const fields: Field[] = [];
    for (const x of walk(e)) if (x.kind === 'Field') fields.push(x);
    const slot = new Map<Field, string>(fields.map((f, i) => [f, `v${i}`]));
    const value = this.value(e, slot);
    const fn = this.name('atom');
    let code = `  if ((${value}) === ${want}) return true;\n`;
    for (let i = fields.length - 1; i >= 0; i--) code = `  for (const v${i} of slotValues(ev, ${js(fieldPath(fields[i]!))})) {\n${code.replace(/^(?=.)/gm, '  ')}  }\n`;
    this.decls.push(`function ${fn}(${fields.length ? 'ev' : '_ev'}: Ev): boolean {\n${code}  return false;\n}`);
    return `${fn}(ev)`;
  }

  keys(keys: readonly Expr[]): string {
    if (!keys.length) return `(_ev: Ev): Key[] => [{ id: '[]', vals: [] }]`;
    const getters = keys.map((k) => {
      if (k.kind === 'Field') return `fieldValues(ev, ${js(fieldPath(k))})`;
      const fields: Field[] = [];
      for (const x of walk(k)) if (x.kind === 'Field') fields.push(x);
      const slot = new Map<Field, string>(fields.map((f, i) => [f, `v${i}`]));
      let code = `out.push(${this.value(k, slot)});`;
      for (let i = fields.length - 1; i >= 0; i--) code = `for (const v${i} of slotValues(ev, ${js(fieldPath(fields[i]!))})) { ${code} }`;
      return `(() => { const out: Val[] = []; ${code} return out; })()`;
    });
    const optional = keys.map((k) => k.kind === 'Field' && k.optional);
    return `(ev: Ev): Key[] => joinKeys([${getters.join(', ')}], ${js(optional)})`;
  }

  /** Three-valued value code (as compile.ts's compileValue), typed Val. */
  private value(e: Expr, slot: Map<Field, string>): string {
    const v = (x: Expr) => this.value(x, slot);
    const hasField = (x: Expr) => [...walk(x)].some((y) => y.kind === 'Field');
    switch (e.kind) {
      case 'Literal':
        return `(${js(e.value)} as Val)`;
      case 'Field':
        return slot.get(e)!;
      case 'Arith':
        return `arith(${js(e.op)}, ${v(e.left)}, ${v(e.right)}, ${isFloat(e)})`;
      case 'Neg':
        return `neg(${v(e.arg)})`;
      case 'Compare': {
        const swap = !hasField(e.left) && hasField(e.right);
        const [l, r] = swap ? [e.right, e.left] : [e.left, e.right];
        const op = swap ? FLIP[e.op]! : e.op;
        return op === '!=' ? `not3(eq(${v(l)}, ${v(r)}))` : `${CMP_FN[op]}(${v(l)}, ${v(r)})`;
      }
      case 'Exists':
        return `(${v(e.arg)} !== null)`;
      case 'In': {
        const values = e.values.filter((x) => !(x.kind === 'Literal' && x.value === null)).map(v);
        return `inList(${v(e.arg)}, [${values.join(', ')}], ${e.caseInsensitive})`;
      }
      case 'Match': {
        const tests = this.name('patterns');
        const isRegex = e.op === 'regex' || e.op === 'regex~';
        this.decls.push(`const ${tests} = [${e.patterns.map((p) => this.pattern(p, isRegex, e.caseInsensitive)).join(', ')}];`);
        return `matchAny(${v(e.arg)}, ${tests})`;
      }
      case 'Not':
        return `not3(${v(e.arg)})`;
      case 'And':
        return e.args.map(v).reduce((acc, x) => `and3(${acc}, ${x})`);
      case 'Or':
        return e.args.map(v).reduce((acc, x) => `or3(${acc}, ${x})`);
      case 'Call':
        return this.call(e, v);
    }
  }

  private pattern(p: Pattern, isRegex: boolean, ci: boolean): string {
    if (!isRegex) return `glob(${js(p.value)}, ${ci})`;
    const t = luceneToRe2(p.value, ci);
    if (!t.ok) throw new TsEmitError(`cannot run regular expression ${js(p.value)}: ${t.message}`);
    this.usesRegex = true;
    return `regex(${js(t.re2)})`;
  }

  private call(e: Call, v: (x: Expr) => string): string {
    const a = e.args.map(v);
    const opt = (i: number) => a[i] ?? 'null';
    const ci = e.caseInsensitive;
    switch (e.name) {
      case 'add':
      case 'subtract':
      case 'multiply':
      case 'divide':
      case 'modulo':
        return `arith(${js(ARITH_FN[e.name])}, ${a[0]}, ${a[1]}, ${isFloat(e)})`;
      case 'between':
        return `between(${a[0]}, ${a[1]}, ${a[2]}, ${opt(3)}, ${ci})`;
      case 'cidrMatch': {
        const blocks = this.name('cidrs');
        const lits = e.args.slice(1).map((x) => (x.kind === 'Literal' && typeof x.value === 'string' ? x.value : null));
        if (lits.some((x) => x === null)) throw new TsEmitError('cidrMatch needs CIDR blocks as string literals');
        this.decls.push(`const ${blocks}: Cidr[] = ${js(lits)}.map((b) => parseCidr(b)).filter((c): c is Cidr => c !== null);`);
        return `cidrMatch(${a[0]}, ${blocks})`;
      }
      case 'concat':
        return `concat([${a.join(', ')}])`;
      case 'endsWith':
      case 'startsWith':
      case 'stringContains':
        return `${e.name}(${a[0]}, ${a[1]}, ${ci})`;
      case 'indexOf':
        return `indexOf(${a[0]}, ${a[1]}, ${opt(2)}, ${ci})`;
      case 'length':
        return `length(${a[0]})`;
      case 'number':
        return `number(${a[0]}, ${opt(1)})`;
      case 'string':
        return `str(${a[0]})`;
      case 'substring':
        return `substring(${a[0]}, ${a[1]}, ${opt(2)})`;
      default:
        throw new TsEmitError(`function \`${e.name}\` cannot be compiled`);
    }
  }
}

/** The `ts` target: the rule compiled into a standalone module with the matcher's own semantics, so always exact. */
export const tsBackend: Backend = {
  id: 'ts',
  title: 'TypeScript module (native matcher)',
  extension: 'ts',
  variants: [{ name: 'default', options: {} }],
  emit(rule, ctx) {
    try {
      return emitTs(rule.query, rule.meta);
    } catch (e) {
      if (!(e instanceof TsEmitError)) throw e;
      ctx.unsupported('EQL3501', e.message, rule.query.span);
      return null;
    }
  },
  // Every module carries the same run-time library; the golden file pins the rule's own code.
  goldenPart: (output) => output.slice(Math.max(0, output.indexOf('// ---- rule'))),
};
