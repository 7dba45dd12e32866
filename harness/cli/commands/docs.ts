// `e820 docs [--check]`: regenerates docs/versions.md from the profile tables
// (harness/drift/versions-doc.ts). --check only compares: exit 1 when the file is stale.

import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { generateVersionsDoc, REGENERATE_COMMAND, VERSIONS_DOC } from '../../drift/versions-doc.ts';
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

export function register(program: Command): void {
  program
    .command('docs')
    .description('regenerate docs/versions.md (behaviour by version) from the profile tables')
    .option('--check', 'only check the committed file is current (exit 1 when stale)')
    .action((opts: { check?: boolean }) => {
      const r = docsCommand(opts);
      (r.code === 0 ? process.stdout : process.stderr).write(r.message);
      process.exitCode = r.code;
    });
}
