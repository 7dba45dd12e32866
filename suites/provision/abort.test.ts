// Ctrl-C during provisioning: the running command is killed and no later command starts.

import { describe, expect, test } from 'vitest';
import { abortableSystem, localSystem } from '../../harness/provision/index.ts';

describe('abortableSystem', () => {
  test('kills a running command when the signal fires', async () => {
    const controller = new AbortController();
    const sys = abortableSystem(localSystem, controller.signal);
    const t0 = performance.now();
    const running = sys.run('sleep', ['30']);
    setTimeout(() => controller.abort(new Error('interrupted by the user')), 100);
    await expect(running).rejects.toThrow('interrupted by the user');
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  test('kills both sides of a pipe', async () => {
    const controller = new AbortController();
    const sys = abortableSystem(localSystem, controller.signal);
    const running = sys.pipe(['sleep', ['30']], ['cat', []]);
    setTimeout(() => controller.abort(new Error('stop')), 100);
    await expect(running).rejects.toThrow('stop');
  });

  test('starts nothing once aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already stopped'));
    const started: string[] = [];
    const spy = { ...localSystem, run: async (cmd: string) => (started.push(cmd), { exitCode: 0, stdout: '', stderr: '' }) };
    await expect(abortableSystem(spy, controller.signal).run('apt-get', ['update'])).rejects.toThrow('already stopped');
    expect(started).toEqual([]);
  });

  test('passes results through while not aborted', async () => {
    const sys = abortableSystem(localSystem, new AbortController().signal);
    const r = await sys.run('sh', ['-c', 'echo hi; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'hi' });
  });
});
