#!/usr/bin/env node
// Runs the TypeScript CLI straight from the checkout: tsx compiles on the fly, so there is
// no build step between `npm install` and `npx e820`.
//
// tsx keeps its transform cache in os.tmpdir()/tsx-<uid> by default: a fixed, predictable path
// that another local user can create first and fill with compiled modules, which this process
// (often root) would then run. The cache is therefore turned off before tsx is loaded (its
// module reads TSX_DISABLE_CACHE once, when it is evaluated); compiling afresh costs ~0.15 s.
process.env.TSX_DISABLE_CACHE = '1';
const { register } = await import('tsx/esm/api');

register();
await import('../harness/cli/main.ts');
