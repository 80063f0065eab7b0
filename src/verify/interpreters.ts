// Registers every target interpreter; import this module before verifying.
import { INTERPRETERS } from './index.js';
import { s1qlInterpreter } from './s1ql.js';
import { tsInterpreter } from './ts.js';

INTERPRETERS.ts = tsInterpreter;
INTERPRETERS.s1ql = s1qlInterpreter;
