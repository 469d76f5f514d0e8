/**
 * The README's configuration table and error table, generated from the one config schema and the one error
 * registry (`npm run docs` rewrites them; test/readme.test.ts fails when the README is behind).
 */
import { ERRORS } from '../errors.js';
import { describeVariables } from './load-config.js';

const SECTION_TITLES: Record<string, string> = {
  common: 'every program',
  spanStorage: 'span storage (collector writes, query reads)',
  pilot: 'pilot',
  collector: 'collector',
  query: 'query',
  ingester: 'ingester',
};

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function variablesMarkdown(): string {
  const lines = ['| variable | default | used by | meaning |', '|---|---|---|---|'];
  for (const row of describeVariables()) {
    const name = [row.name, ...row.aliases].map((n) => `\`${n}\``).join(', ');
    const def = row.default === '' ? '' : `\`${cell(row.default)}\``;
    lines.push(`| ${name} | ${def} | ${SECTION_TITLES[row.section] ?? row.section} | ${cell(row.doc)} |`);
  }
  return lines.join('\n');
}

export function errorsMarkdown(): string {
  const lines = ['| code | HTTP status | message |', '|---|---|---|'];
  for (const [code, def] of Object.entries(ERRORS)) lines.push(`| \`${code}\` | ${def.status} | ${cell(def.message.replace('%s', '…'))} |`);
  return lines.join('\n');
}

const BLOCKS = { variables: variablesMarkdown, errors: errorsMarkdown } as const;

/** Replaces each `<!-- generated:NAME -->…<!-- /generated:NAME -->` block of `readme` with its current text. */
export function refreshGeneratedBlocks(readme: string): string {
  let out = readme;
  for (const [name, make] of Object.entries(BLOCKS)) {
    const re = new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    out = out.replace(re, (_m, open: string, close: string) => `${open}\n${make()}\n${close}`);
  }
  return out;
}
