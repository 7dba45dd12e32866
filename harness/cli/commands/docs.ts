// `e820 docs [--check]`: regenerates docs/versions.md from the profile tables
// (harness/docs/versions-doc.ts). --check only compares: exit 1 when the file is stale.
// `e820 docs --not-modelled RESULTS_DIR…`: regenerates docs/not-modelled.md from the explore.json
// of those explore runs (harness/docs/not-modelled-doc.ts) instead.

import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { generateNotModelledDoc, NOT_MODELLED_DOC, type ExploreRunSummary } from '../../docs/not-modelled-doc.ts';
import { generateVersionsDoc, REGENERATE_COMMAND, VERSIONS_DOC } from '../../docs/versions-doc.ts';
import { REPO_ROOT } from '../../matrix/paths.ts';

export function docsCommand(opts: { check?: boolean }): { code: number; message: string } {
  const text = generateVersionsDoc();
  const rel = relative(REPO_ROOT, VERSIONS_DOC);
  const current = existsSync(VERSIONS_DOC) ? readFileSync(VERSIONS_DOC, 'utf8') : null;
  if (opts.check) {
    return current === text
      ? { code: 0, message: `${rel} is up to date\n` }
      : { code: 1, message: `${rel} is ${current === null ? 'missing' : 'stale'}: run \`${REGENERATE_COMMAND}\`\n` };
  }
  if (current === text) return { code: 0, message: `${rel} unchanged\n` };
  mkdirSync(dirname(VERSIONS_DOC), { recursive: true });
  writeFileSync(VERSIONS_DOC, text);
  return { code: 0, message: `wrote ${rel}\n` };
}

/** docs/not-modelled.md from explore runs' results directories (each holds an explore.json). */
export function notModelledDocsCommand(dirs: readonly string[]): { code: number; message: string } {
  const inputs = [];
  for (const dir of dirs) {
    const file = join(resolve(dir), 'explore.json');
    if (!existsSync(file)) return { code: 2, message: `${dir}: no explore.json (give the results directories of e820 explore runs)\n` };
    const summary = JSON.parse(readFileSync(file, 'utf8')) as Partial<ExploreRunSummary>;
    if (summary.share === undefined) return { code: 2, message: `${file}: no share (written before explore reported the model's share; run explore again)\n` };
    inputs.push({ run: basename(resolve(dir)), summary: summary as ExploreRunSummary });
  }
  const text = generateNotModelledDoc(inputs, `npx e820 docs --not-modelled ${inputs.map((i) => `results/${i.run}`).join(' ')}`);
  const rel = relative(REPO_ROOT, NOT_MODELLED_DOC);
  mkdirSync(dirname(NOT_MODELLED_DOC), { recursive: true });
  writeFileSync(NOT_MODELLED_DOC, text);
  return { code: 0, message: `wrote ${rel} from ${inputs.length} explore run${inputs.length === 1 ? '' : 's'}\n` };
}

export function register(program: Command): void {
  program
    .command('docs')
    .description('regenerate docs/versions.md (behaviour by version) from the profile tables; with --not-modelled, docs/not-modelled.md from explore runs')
    .option('--check', 'only check the committed file is current (exit 1 when stale)')
    .option('--not-modelled <RESULTS_DIR...>', 'regenerate docs/not-modelled.md from the explore.json of these explore results directories instead')
    .action((opts: { check?: boolean; notModelled?: string[] }) => {
      const r = opts.notModelled !== undefined ? notModelledDocsCommand(opts.notModelled) : docsCommand(opts);
      (r.code === 0 ? process.stdout : process.stderr).write(r.message);
      process.exitCode = r.code;
    });
}
