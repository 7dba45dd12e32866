// The --host connection seen from the commands (harness/cli/commands/check.ts, capture.ts), with
// the connection itself replaced (vi.mock of harness/host/connect.ts, harness/matrix/deps.ts): a
// connection made is closed when what follows it fails, and a connection error is printed through
// printable() as e820 kvm prints it.

import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Host } from '../../harness/host/types.ts';

const fakeHost = { label: 'ssh://fake@cli-host-connect.test' } as unknown as Host;
const calls = vi.hoisted(() => ({ closed: [] as string[][] }));

vi.mock('../../harness/host/connect.ts', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../harness/host/connect.ts')>();
  return {
    ...orig,
    connectRemotes: async () => [fakeHost],
    closeRemotes: async (hosts: readonly Host[]) => void calls.closed.push(hosts.map((h) => h.label)),
    hostOf: async () => {
      throw new Error('ssh://h: the server said \u001b]0;pwned\u0007\u001b[2J');
    },
  };
});

vi.mock('../../harness/matrix/deps.ts', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../harness/matrix/deps.ts')>();
  return {
    ...orig,
    realDeps: async () => {
      throw new Error('realDeps failed (test)');
    },
  };
});

const { checkCommand } = await import('../../harness/cli/commands/check.ts');
const { captureCommand } = await import('../../harness/cli/commands/capture.ts');

beforeEach(() => {
  calls.closed.length = 0;
});

describe('e820 check --host', () => {
  it('closes the connection when setting up after it fails (realDeps throws)', async () => {
    await expect(checkCommand(['-M', 'pc', '-m', '1G'], { host: 'ssh://fake@cli-host-connect.test' })).rejects.toThrow('realDeps failed (test)');
    expect(calls.closed).toEqual([['ssh://fake@cli-host-connect.test']]);
  });
});

describe('e820 capture --host', () => {
  it('prints a connection error with its control characters made visible', async () => {
    let err = '';
    const code = await captureCommand(['-M', 'pc'], { host: 'ssh://h' }, { stderr: { write: (s: string) => (err += s) } });
    expect(code).toBe(2);
    expect(err).toContain('the server said \\x1b]0;pwned\\x07\\x1b[2J');
    // eslint-disable-next-line no-control-regex
    expect(err).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
  });
});
