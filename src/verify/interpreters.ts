// Registers every target interpreter; import this module before verifying.
import { INTERPRETERS } from './index.js';
import { splInterpreter } from './spl.js';
import { tsInterpreter } from './ts.js';

INTERPRETERS.spl = splInterpreter;
INTERPRETERS.ts = tsInterpreter;
