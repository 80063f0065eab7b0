// Validation of Sigma output against the official JSON schemas (vendored in test/fixtures/sigma-schema).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parseAllDocuments } from 'yaml';
import { root } from './shared.js';

const require = createRequire(import.meta.url);
// ajv and ajv-formats are CommonJS; the 2020-12 entry point is required by the schemas' $schema.
const Ajv2020 = require('ajv/dist/2020').default as typeof import('ajv/dist/2020.js').default;
const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default;

const dir = join(root, 'test', 'fixtures', 'sigma-schema');
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const load = (f: string) => ajv.compile(JSON.parse(readFileSync(join(dir, f), 'utf8')));
const detection = load('sigma-detection-rule-schema.json');
const correlation = load('sigma-correlation-rules-schema.json');

/** Parse a (multi-document) Sigma YAML with duplicate keys rejected; returns the documents. */
export function parseSigma(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text, { uniqueKeys: true }).map((d) => {
    if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('; '));
    return d.toJS() as Record<string, unknown>;
  });
}

/** Schema problems of every document (correlation schema for `correlation` documents); empty when valid. */
export function sigmaSchemaErrors(text: string): string[] {
  const problems: string[] = [];
  parseSigma(text).forEach((doc, i) => {
    const validate = 'correlation' in doc ? correlation : detection;
    if (!validate(doc)) problems.push(...(validate.errors ?? []).map((e) => `document ${i + 1}: ${e.instancePath} ${e.message}`));
  });
  return problems;
}
