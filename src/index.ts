// The library API: everything the CLI does is available here without spawning a process.
export * from './ir/nodes.js';
export { printQuery, printExpr, printString } from './ir/print.js';
export { irEqual, stripSpans } from './ir/equal.js';
export { walk, allExprs, filtersOf } from './ir/walk.js';
export { analyseWildcard, globParts } from './ir/patterns.js';
export { parseQuery, type ParseResult } from './parse.js';
export { CODES, formatDiagnostic, type Diagnostic, type Severity } from './diagnostics.js';
export { loadRuleFile, loadRuleText, expandPaths, type RuleSource, type RuleMeta, type Threat } from './rules.js';
export { check, checkParsed, parseRule, parseRuleText, loadRules, reviewQuery, type CheckResult, type CheckedRule, type ParsedRule } from './check.js';
export { formatRuleFile } from './fmt.js';
export { main } from './cli.js';
export { compileMatcher, matchEvents, DEFAULT_MAX_PENDING, type Matcher, type MatchOptions, type MatchResult } from './matcher/index.js';
export { readEvents, type ReadStats } from './matcher/events.js';
export { luceneToRe2, type RegexTranslation } from './matcher/regex.js';
export { replay, replayRules, resultLine, type ReplayOptions, type ReplayOutcome, type ReplayRuleResult } from './replay.js';
