import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { refreshGeneratedBlocks } from '../platform/config/markdown.js';
import { describeVariables } from '../platform/config/load-config.js';
import { ERRORS } from '../platform/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('the README documents every variable and every error code as the code defines them', () => {
  assert.equal(readme, refreshGeneratedBlocks(readme), 'README tables are behind the code: run npm run docs');
  for (const v of describeVariables()) assert.ok(readme.includes(`\`${v.name}\``), `${v.name} missing from README`);
  for (const code of Object.keys(ERRORS)) assert.ok(readme.includes(`\`${code}\``), `${code} missing from README`);
});

test('the README gives the quick start in two commands', () => {
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /^npm test\b/m);
});
