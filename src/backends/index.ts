// The backend registry: adding a backend is one file in this folder, one line here, its mapping data
// (mappings/<id>.yaml) and its golden files.
import type { Backend, TargetId } from '../translate/core.js';
import { kqlBackend } from './kql.js';
import { sigmaBackend } from './sigma.js';
import { splBackend } from './spl.js';
import { s1qlBackend } from './s1ql.js';
import { tsBackend } from './ts.js';

export const BACKENDS: Partial<Record<TargetId, Backend>> = {
  sigma: sigmaBackend,
  kql: kqlBackend,
  spl: splBackend,
  s1ql: s1qlBackend,
  ts: tsBackend,
};

export const TARGET_ALIASES: Record<string, TargetId> = {
  sigma: 'sigma',
  kql: 'kql',
  defender: 'kql',
  spl: 'spl',
  splunk: 'spl',
  s1ql: 's1ql',
  sentinelone: 's1ql',
  s1: 's1ql',
  ts: 'ts',
  matcher: 'ts',
};
