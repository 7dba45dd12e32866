// The compiled CLI: `npm run build` (also npm's `prepare`, so `npm ci` runs it) bundles
// harness/cli/main.ts with esbuild into build/cli/ inside the checkout, one chunk per lazily
// imported command, npm packages left as imports of node_modules. build/cli/build.json lists
// every source file that went in (size, mtime, sha256); bin/e820.js runs the build only when
// freshBuild() says every one of them is unchanged, and the TypeScript through tsx otherwise.
//
// Why esbuild and not tsc: it bundles (one chunk graph to load instead of ~150 modules and the
// npm packages' ~350 files: the start-up that matters for `predict` and `check`), builds in
// ~0.5 s instead of tsc's emit of the whole project, and reports the exact input list the
// freshness check needs. Type checking stays `tsc --noEmit`.
//
// import.meta in a bundled module would describe the chunk, not the source: each use is
// rewritten to the source file's own location, relative to the chunk (so a moved checkout still
// works), which keeps every import.meta-relative read of repository files (harness/matrix/paths.ts
// REPO_ROOT, data next to a module) pointing where it does under tsx.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_DIR = join(REPO, 'build', 'cli');
export const ENTRY = 'harness/cli/main.ts';
const MANIFEST = 'build.json';
const FORMAT = 1;
/** Files that shape the output without being bundled inputs. */
const CONFIG_INPUTS = ['bin/build.js', 'tsconfig.json'];

// node:crypto costs ~20 ms to load: only a build, or an input whose mtime moved, needs it.
const require = createRequire(import.meta.url);
const digest = (bytes) => require('node:crypto').createHash('sha256').update(bytes).digest('hex');
const sha256 = (path) => digest(readFileSync(path));

/**
 * Why the build in `dir` cannot be run for the sources in `repo`, or null when it can: every
 * recorded input has its recorded size and either its recorded mtime or, when only the mtime
 * moved (a checkout, `touch`), its recorded sha256; every output is present. A changed import
 * graph shows as a changed input (the file that imports). Cost: one stat per input (~130), a
 * hash only for inputs whose mtime moved.
 */
export function staleReason(repo = REPO, dir = BUILD_DIR) {
  let m;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
  } catch {
    return 'no build (npm run build)';
  }
  if (m === null || typeof m !== 'object' || m.format !== FORMAT || typeof m.inputs !== 'object' || !Array.isArray(m.outputs)) return 'build manifest of another format';
  for (const [rel, rec] of Object.entries(m.inputs)) {
    const path = `${repo}/${rel}`;
    let st;
    try {
      st = statSync(path);
    } catch {
      return `${rel} is gone`;
    }
    if (st.size !== rec.size) return `${rel} changed`;
    if (st.mtimeMs !== rec.mtimeMs && sha256(path) !== rec.sha256) return `${rel} changed`;
  }
  for (const out of m.outputs) if (!existsSync(`${dir}/${out}`)) return `build output ${out} is missing`;
  return null;
}

/** The entry module to import when the build is fresh, else null (with the reason). */
export function freshBuild(repo = REPO, dir = BUILD_DIR) {
  const reason = staleReason(repo, dir);
  return reason === null ? { entry: join(dir, 'main.js'), reason: null } : { entry: null, reason };
}

/** Rewrites import.meta.{url,dirname,filename} to the source file's location (see the header). */
function sourceMetaPlugin(outdir, read) {
  return {
    name: 'source-import-meta',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        // Recorded as read: a file edited during the build then differs from its record.
        const st = statSync(args.path);
        const bytes = readFileSync(args.path);
        read.set(args.path, { size: st.size, mtimeMs: st.mtimeMs, sha256: digest(bytes) });
        const text = bytes.toString('utf8');
        if (!text.includes('import.meta') || args.path.includes(`${sep}node_modules${sep}`)) return { contents: text, loader: 'ts' };
        const rel = JSON.stringify(relative(outdir, args.path).split(sep).join('/'));
        const url = `new URL(${rel}, import.meta.url)`;
        const contents =
          "import { fileURLToPath as __e820_fileURLToPath } from 'node:url';\nimport { dirname as __e820_dirname } from 'node:path';\n" +
          text.replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, p) =>
            p === 'url' ? `${url}.href` : p === 'filename' ? `__e820_fileURLToPath(${url})` : `__e820_dirname(__e820_fileURLToPath(${url}))`,
          );
        return { contents, loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * Builds into a fresh directory next to build/cli and moves it into place, so a process that
 * starts meanwhile sees the old build or the new one, never half of one. Returns the manifest.
 */
export async function buildCli(repo = REPO, dir = BUILD_DIR) {
  const { build } = await import('esbuild');
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${process.pid}-${Date.now()}`);
  const old = join(parent, `.old-${process.pid}-${Date.now()}`);
  try {
    const read = new Map();
    const r = await build({
      absWorkingDir: repo,
      entryPoints: [ENTRY],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // npm packages are bundled too: loading execa's, log-update's, yaml's and zod's ~350 files
      // one by one was half of `check`'s start-up. tsx and esbuild are the toolchain, not the CLI.
      external: ['tsx', 'esbuild', 'ssh2'],
      // Bundled CommonJS packages (commander, cross-spawn) require() node's built-ins.
      banner: { js: "import { createRequire as __e820_createRequire } from 'node:module';\nconst require = __e820_createRequire(import.meta.url);" },
      outdir: tmp,
      entryNames: 'main',
      chunkNames: 'chunk-[hash]',
      metafile: true,
      logLevel: 'warning',
      plugins: [sourceMetaPlugin(dir, read)],
    });
    const inputs = {};
    for (const rel of [...Object.keys(r.metafile.inputs), ...CONFIG_INPUTS.filter((c) => existsSync(join(repo, c)))].sort()) {
      // Bundled npm files are inputs like the sources: a reinstalled or updated package is a change.
      if (rel.includes(':')) continue;
      const path = join(repo, rel);
      const st = read.has(path) ? null : statSync(path);
      inputs[rel] = read.get(path) ?? { size: st.size, mtimeMs: st.mtimeMs, sha256: sha256(path) };
    }
    const outputs = Object.keys(r.metafile.outputs).map((p) => relative(tmp, join(repo, p))).sort();
    const manifest = { format: FORMAT, entry: ENTRY, inputs, outputs };
    writeFileSync(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    return manifest;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  const m = await buildCli();
  process.stderr.write(`e820: built ${relative(REPO, BUILD_DIR)}/ from ${Object.keys(m.inputs).length} sources in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
}
