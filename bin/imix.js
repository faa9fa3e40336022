#!/usr/bin/env node
// The `imix` command: a shim over the compiled CLI (lib/cli/main.ts -> dist/lib/cli/main.js).
'use strict';
let cli;
try {
  cli = require('../dist/lib/cli/main.js');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/lib/cli/main.js')) {
    process.stderr.write('imix: error: the CLI is not compiled; run `npx tsc -p .` in the imix folder\n');
    process.exit(1);
  }
  throw e;
}
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
