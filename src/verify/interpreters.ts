// Registers every target interpreter; import this module before verifying.
import { INTERPRETERS } from './index.js';
import { tsInterpreter } from './ts.js';

INTERPRETERS.ts = tsInterpreter;
