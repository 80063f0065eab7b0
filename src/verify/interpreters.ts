// Registers every target interpreter; src/verify/index.ts imports this file, so the verifier always has them.
import { INTERPRETERS } from './interpreter.js';
import { kqlInterpreter } from './kql.js';
import { s1qlInterpreter } from './s1ql.js';
import { sigmaInterpreter } from './sigma.js';
import { splInterpreter } from './spl.js';
import { tsInterpreter } from './ts.js';

INTERPRETERS.sigma = sigmaInterpreter as (typeof INTERPRETERS)['sigma'];
INTERPRETERS.kql = kqlInterpreter as (typeof INTERPRETERS)['kql'];
INTERPRETERS.s1ql = s1qlInterpreter as (typeof INTERPRETERS)['s1ql'];
INTERPRETERS.spl = splInterpreter as (typeof INTERPRETERS)['spl'];
INTERPRETERS.ts = tsInterpreter as (typeof INTERPRETERS)['ts'];
