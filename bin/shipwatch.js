#!/usr/bin/env node
// The command is compiled TypeScript (`npm ci` builds it through the prepare script).
import '../dist/cli/shipwatch.js';
