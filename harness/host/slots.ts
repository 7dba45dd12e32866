// Where the next boot of a run goes: `jobs` slots on this machine and `jobs` on each remote
// host (e820 run --host), handed out first come, first served. The runner starts as many cells
// at once as there are slots, so a cell always finds one free.

import { localHost } from './local.ts';
import type { Host } from './types.ts';

export interface HostShare {
  host: Host;
  /** Boots at once on that host. */
  jobs: number;
}

export class HostSlots {
  private readonly free: Host[] = [];
  private readonly waiting: Array<(h: Host) => void> = [];
  /** Boots each host took, for the run's summary. */
  readonly taken = new Map<string, number>();

  constructor(shares: readonly HostShare[]) {
    // Remote slots first: a run given hosts means to use them; the local cores fill in.
    for (const s of [...shares].sort((a, b) => Number(a.host === localHost) - Number(b.host === localHost))) {
      for (let i = 0; i < s.jobs; i++) this.free.push(s.host);
    }
    this.size = this.free.length;
  }

  /** Slots in all. */
  readonly size: number;
  private busy = 0;

  async acquire(): Promise<Host> {
    const h = this.free.shift() ?? (await new Promise<Host>((r) => this.waiting.push(r)));
    this.busy++;
    this.taken.set(h.label, (this.taken.get(h.label) ?? 0) + 1);
    return h;
  }

  release(h: Host): void {
    this.busy--;
    const next = this.waiting.shift();
    if (next) next(h);
    else this.free.unshift(h);
  }

  /** Runs f on a slot's host and frees the slot after. */
  async with<T>(f: (h: Host) => Promise<T>): Promise<T> {
    const h = await this.acquire();
    try {
      return await f(h);
    } finally {
      this.release(h);
    }
  }
}
