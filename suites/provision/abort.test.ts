// Ctrl-C during provisioning: the running command is killed and no later command starts.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { abortableHost } from '../../harness/host/abortable.ts';
import { localHost, LocalHost } from '../../harness/host/local.ts';
import type { ExecOptions } from '../../harness/host/types.ts';

describe('abortableHost', () => {
  test('kills a running command when the signal fires', async () => {
    const controller = new AbortController();
    const sys = abortableHost(localHost, controller.signal);
    const t0 = performance.now();
    const running = sys.exec(['sleep', '30']);
    setTimeout(() => controller.abort(new Error('interrupted by the user')), 100);
    await expect(running).rejects.toThrow('interrupted by the user');
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  test('kills a command whose lines are streamed (apt, make), rejecting with the signal\'s reason', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const running = abortableHost(localHost, controller.signal).exec(['sh', '-c', 'echo started; exec sleep 30'], { onLine: (l) => lines.push(l) });
    setTimeout(() => controller.abort(new Error('interrupted by the user')), 300);
    await expect(running).rejects.toThrow('interrupted by the user');
    expect(lines).toEqual(['started']);
  });

  test('kills both sides of a pipe', async () => {
    const controller = new AbortController();
    const sys = abortableHost(localHost, controller.signal);
    // Durations no other process uses (digits of this pid and the clock) find exactly these two in /proc.
    const marker = `${process.pid}${Date.now() % 100000}`;
    const running = sys.pipe(['sleep', `31.${marker}`], ['sleep', `32.${marker}`]);
    await new Promise((r) => setTimeout(r, 300));
    expect(withMarker(marker), 'both sides started').toHaveLength(2);
    controller.abort(new Error('stop'));
    await expect(running).rejects.toThrow('stop');
    const deadline = Date.now() + 5000;
    while (withMarker(marker).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(withMarker(marker), 'no side of the pipe is left running').toEqual([]);
  });

  test('starts nothing once aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already stopped'));
    const started: string[] = [];
    const spy = new (class extends LocalHost {
      override exec(argv: readonly string[], o?: ExecOptions) {
        started.push(argv[0]!);
        return super.exec(['true'], o);
      }
    })();
    await expect(abortableHost(spy, controller.signal).exec(['apt-get', 'update'])).rejects.toThrow('already stopped');
    await expect(abortableHost(spy, controller.signal).pipe(['apt-get', 'update'], ['cat'])).rejects.toThrow('already stopped');
    expect(started).toEqual([]);
  });

  test('passes results through while not aborted', async () => {
    const sys = abortableHost(localHost, new AbortController().signal);
    const r = await sys.exec(['sh', '-c', 'echo hi; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'hi' });
  });
});

/** Live processes (not zombies) whose command line holds the marker. */
function withMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${d}/stat`, 'utf8'))?.[1];
      if (cmdline.includes(marker) && state !== 'Z') pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
