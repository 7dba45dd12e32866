// What provisioning asks of this machine through the Host interface (harness/host/local.ts).

import { describe, expect, it } from 'vitest';

import { localHost } from '../../harness/host/local.ts';
import { pipeScript } from '../../harness/host/ssh.ts';

describe('LocalHost, as provisioning uses it', () => {
  it('runs a program without throwing on failure, streams lines when asked, in the given directory', async () => {
    const lines: string[] = [];
    const r = await localHost.exec(['sh', '-c', 'echo one; echo two >&2; exit 3'], { onLine: (l) => lines.push(l) });
    expect(r.exitCode).toBe(3);
    expect(lines.sort()).toEqual(['one', 'two']);
    const q = await localHost.exec(['sh', '-c', 'echo "$X"'], { env: { X: 'set' } });
    expect(q).toMatchObject({ exitCode: 0, stdout: 'set' });
    await expect(localHost.exec(['pwd'], { cwd: '/usr' })).resolves.toMatchObject({ exitCode: 0, stdout: '/usr' });
  });

  it('a program that does not exist is exit 127 naming it, as a remote shell reports it', async () => {
    const r = await localHost.exec(['no-such-tool-e820', '--version']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toMatch(/^no-such-tool-e820: .*ENOENT/);
  });

  it('pipes, and reports a failure of either side', async () => {
    await expect(localHost.pipe(['printf', 'a\\nb\\n'], ['wc', '-l'])).resolves.toMatchObject({ exitCode: 0, stdout: '2' });
    const left = await localHost.pipe(['sh', '-c', 'echo oops >&2; exit 2'], ['cat']);
    expect(left).toMatchObject({ exitCode: 2, stderr: 'oops' });
    const right = await localHost.pipe(['echo', 'x'], ['sh', '-c', 'cat >/dev/null; exit 4']);
    expect(right.exitCode).toBe(4);
    const missing = await localHost.pipe(['no-such-tool-e820'], ['cat']);
    expect(missing.exitCode).toBe(127);
    await expect(localHost.pipe(['pwd'], ['cat'], { cwd: '/usr' })).resolves.toMatchObject({ exitCode: 0, stdout: '/usr' });
  });

  it('which finds sh on PATH and not a nonsense name', async () => {
    expect(await localHost.which('sh')).toMatch(/\/sh$/);
    expect(await localHost.which('no-such-tool-e820')).toBeNull();
  });
});

describe("SshHost's pipe script (run by this machine's sh, as the remote one runs it)", () => {
  const pipe = (a: string[], b: string[]) => localHost.exec(['sh', '-c', pipeScript(a, b)]);
  it('passes output through and fails with the failing side’s status', async () => {
    await expect(pipe(['printf', 'a\\nb\\n'], ['wc', '-l'])).resolves.toMatchObject({ exitCode: 0, stdout: '2' });
    await expect(pipe(['sh', '-c', 'exit 2'], ['cat'])).resolves.toMatchObject({ exitCode: 2 });
    await expect(pipe(['echo', 'x'], ['sh', '-c', 'cat >/dev/null; exit 4'])).resolves.toMatchObject({ exitCode: 4 });
    await expect(pipe(['no-such-tool-e820'], ['cat'])).resolves.toMatchObject({ exitCode: 127 });
  });
  it('quotes every word: a quote or a $ in an argument is data', async () => {
    await expect(pipe(['printf', '%s', "it's $HOME; `id`"], ['cat'])).resolves.toMatchObject({ exitCode: 0, stdout: "it's $HOME; `id`" });
  });
});
