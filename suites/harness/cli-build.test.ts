// The compiled CLI (bin/build.js, bin/e820.js): a build runs only while it is exactly the
// sources it was made from; import.meta keeps describing the source file; the compiled CLI and
// the tsx path print the same prediction.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildCli, staleReason } from '../../bin/build.js';
import { Command } from 'commander';
import { COMMAND_MODULES } from '../../harness/cli/commands/by-name.ts';
import { registerCommands } from '../../harness/cli/commands/index.ts';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';

// A checkout in miniature: bin/ as it is, a two-module CLI, node_modules for the tsx fallback.
let repo: string;
let out: string;
const MAIN = "import { word } from './dep.ts';\nconsole.log(JSON.stringify({ word, dirname: import.meta.dirname, url: import.meta.url, ran: new Error().stack!.split('\\n')[1] }));\n";

function run(env: NodeJS.ProcessEnv = {}): { word: string; dirname: string; url: string; ran: string } {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'e820.js')], { cwd: repo, env: { ...process.env, ...env }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { word: string; dirname: string; url: string; ran: string };
}

beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), 'e820-build-test-'));
  mkdirSync(join(repo, 'harness', 'cli'), { recursive: true });
  cpSync(join(REPO_ROOT, 'bin'), join(repo, 'bin'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(repo, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(repo, 'node_modules'));
  writeFileSync(join(repo, 'harness', 'cli', 'main.ts'), MAIN);
  writeFileSync(join(repo, 'harness', 'cli', 'dep.ts'), "export const word: string = 'one';\n");
  out = join(repo, 'build', 'cli');
  await buildCli(repo, out);
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('the build is run only while it matches the sources', () => {
  test('fresh: the compiled module runs, and import.meta still names the source file', () => {
    expect(staleReason(repo, out)).toBeNull();
    const r = run();
    expect(r.ran).toContain(join('build', 'cli', 'main.js'));
    expect(r.word).toBe('one');
    expect(r.dirname).toBe(join(repo, 'harness', 'cli'));
    expect(r.url).toBe(`file://${join(repo, 'harness', 'cli', 'main.ts')}`);
  });

  test('a moved mtime with the same content keeps the build (a checkout, touch)', () => {
    utimesSync(join(repo, 'harness', 'cli', 'dep.ts'), new Date(), new Date(Date.now() + 5000));
    expect(staleReason(repo, out)).toBeNull();
  });

  test('an edit, even of the same size and with an older mtime, sends the start to tsx', () => {
    const dep = join(repo, 'harness', 'cli', 'dep.ts');
    writeFileSync(dep, "export const word: string = 'two';\n");
    utimesSync(dep, new Date(0), new Date(0));
    expect(staleReason(repo, out)).toBe('harness/cli/dep.ts changed');
    const r = run();
    expect(r.ran).toContain(join('harness', 'cli', 'main.ts'));
    expect(r.word).toBe('two');
    // Rebuilt: compiled again, with the edit.
    return buildCli(repo, out).then(() => {
      expect(staleReason(repo, out)).toBeNull();
      expect(run().ran).toContain(join('build', 'cli', 'main.js'));
      expect(run().word).toBe('two');
    });
  });

  test('E820_CLI_FROM=tsx runs the sources whatever the build', () => {
    expect(run({ E820_CLI_FROM: 'tsx' }).ran).toContain(join('harness', 'cli', 'main.ts'));
  });

  test('a removed source, a missing output, a missing build: each named', () => {
    const scratch = join(repo, 'build', 'scratch');
    cpSync(out, scratch, { recursive: true });
    rmSync(join(scratch, 'main.js'));
    expect(staleReason(repo, scratch)).toBe('build output main.js is missing');
    expect(staleReason(repo, join(repo, 'build', 'none'))).toBe('no build (npm run build)');
    rmSync(join(repo, 'harness', 'cli', 'dep.ts'));
    expect(staleReason(repo, out)).toBe('harness/cli/dep.ts is gone');
  });
});

describe('the real CLI', () => {
  test('the compiled CLI and the tsx path print the same prediction', () => {
    const reason = staleReason();
    if (reason !== null) {
      console.log(`compiled CLI not compared: ${reason}`);
      return;
    }
    const argv = [join(REPO_ROOT, 'bin', 'e820.js'), 'predict', '--json', '--', '-M', 'q35', '-m', '6G', '-append', 'memmap=1M$0x30000000'];
    const compiled = execFileSync(process.execPath, argv, { encoding: 'utf8' });
    const tsx = execFileSync(process.execPath, argv, { encoding: 'utf8', env: { ...process.env, E820_CLI_FROM: 'tsx' } });
    expect(compiled).toContain('BIOS-e820');
    expect(compiled).toBe(tsx);
  });
});

describe('commands are imported by name (harness/cli/commands/by-name.ts)', () => {
  test('every registered command has its module under its name, and that module registers exactly it', async () => {
    const all = new Command();
    registerCommands(all);
    const names = all.commands.map((c) => c.name());
    expect(Object.keys(COMMAND_MODULES).sort()).toEqual([...names].sort());
    for (const name of names) {
      const one = new Command();
      (await COMMAND_MODULES[name]!()).register(one);
      expect(one.commands.map((c) => c.name())).toEqual([name]);
    }
  });
});
