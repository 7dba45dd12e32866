#!/usr/bin/env node
// Starts the CLI from the compiled JavaScript in build/cli/ (bin/build.js: `npm run build`, run by
// `npm ci` as the `prepare` script) when that build is exactly the current sources, else from the
// TypeScript through tsx, as before the build existed.
//
// Never a stale build: build/cli/build.json records every source file that went into it (size,
// mtime, sha256); one that changed, moved or went missing (a developer's edit, a checkout) sends
// this start to tsx until `npm run build` runs again. The check stats each input (~470 files: the
// sources and the bundled npm packages) and hashes only those whose mtime moved: ~4 ms measured
// here, against the ~0.5 s that tsx's compile adds (`npm run bench` prints both start-ups). It
// falls back rather than rebuilds, so a command never writes into the checkout and two starting
// at once never race on build/; the fallback says so on stderr when that is a terminal.
//
// tsx keeps its transform cache in os.tmpdir()/tsx-<uid> by default: a fixed, predictable path
// that another local user can create first and fill with compiled modules, which this process
// (often root) would then run. The cache is therefore turned off before tsx is loaded (its
// module reads TSX_DISABLE_CACHE once, when it is evaluated). The build itself lives inside the
// checkout, never in a shared temp path. E820_CLI_FROM=tsx forces the tsx path (the benchmark
// compares the two).
import { freshBuild } from './build.js';

const fresh = process.env.E820_CLI_FROM === 'tsx' ? { entry: null, reason: null } : freshBuild();
if (fresh.entry !== null) {
  await import(fresh.entry);
} else {
  if (fresh.reason !== null && process.stderr.isTTY) process.stderr.write(`e820: note: running the TypeScript through tsx (${fresh.reason}; npm run build starts faster)\n`);
  process.env.TSX_DISABLE_CACHE = '1';
  const { register } = await import('tsx/esm/api');
  register();
  await import('../harness/cli/main.ts');
}
