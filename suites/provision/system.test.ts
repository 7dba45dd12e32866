import { describe, expect, it } from 'vitest';

import { localSystem } from '../../harness/provision/system.ts';

describe('localSystem', () => {
  it('runs a command without throwing on failure, and streams lines when asked', async () => {
    const lines: string[] = [];
    const r = await localSystem.run('sh', ['-c', 'echo one; echo two >&2; exit 3'], { onLine: (l) => lines.push(l) });
    expect(r.exitCode).toBe(3);
    expect(lines.sort()).toEqual(['one', 'two']);
    const q = await localSystem.run('sh', ['-c', 'echo "$X"'], { env: { X: 'set' } });
    expect(q).toMatchObject({ exitCode: 0, stdout: 'set' });
  });

  it('pipes, and reports a failure of either side', async () => {
    await expect(localSystem.pipe(['printf', ['a\\nb\\n']], ['wc', ['-l']])).resolves.toMatchObject({ exitCode: 0, stdout: '2' });
    const left = await localSystem.pipe(['sh', ['-c', 'echo oops >&2; exit 2']], ['cat', []]);
    expect(left.exitCode).not.toBe(0);
    const right = await localSystem.pipe(['echo', ['x']], ['sh', ['-c', 'cat >/dev/null; exit 4']]);
    expect(right.exitCode).toBe(4);
  });

  it('which finds sh on PATH and not a nonsense name', async () => {
    expect(await localSystem.which('sh')).toMatch(/\/sh$/);
    expect(await localSystem.which('no-such-tool-e820')).toBeNull();
  });
});
