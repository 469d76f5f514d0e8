/** `npm run docs`: rewrites the README's generated tables (configuration, errors) from the code. */
import { readFileSync, writeFileSync } from 'node:fs';
import { refreshGeneratedBlocks } from '../platform/config/markdown.js';

const file = new URL('../README.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = refreshGeneratedBlocks(before);
if (after !== before) writeFileSync(file, after);
process.stdout.write(after === before ? 'README.md is up to date\n' : 'README.md tables rewritten\n');
