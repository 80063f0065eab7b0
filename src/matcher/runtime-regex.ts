// Regular expressions for the matcher's run time, on re2js (a linear-time RE2 port): attacker-controlled values
// cannot make matching slow. Kept apart from runtime.ts so emitted modules import re2js only when they use regex.
import { RE2JS } from 're2js';

/** A whole-value matcher for an RE2 pattern produced by luceneToRe2 (non-strings are matched as text). */
export function regex(re2: string): (s: string | number | boolean | null) => boolean {
  const re = RE2JS.compile(re2);
  return (s) => s !== null && re.matches(String(s));
}
