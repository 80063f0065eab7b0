// Registers every target interpreter; src/verify/index.ts imports this file, so the verifier always has them.
import { INTERPRETERS } from './interpreter.js';
import { sigmaInterpreter } from './sigma.js';
import { tsInterpreter } from './ts.js';

INTERPRETERS.sigma = sigmaInterpreter as (typeof INTERPRETERS)['sigma'];
INTERPRETERS.ts = tsInterpreter as (typeof INTERPRETERS)['ts'];
