// Where the next boot of a run goes: `jobs` slots on this machine and `jobs` on each remote
// host (e820 run --host), handed out first come, first served. The runner starts as many cells
// at once as there are slots, so a cell always finds one free — unless it accepts only some
// hosts (a KVM cell goes only where KVM runs it in full, harness/matrix/runner.ts): then it waits
// for a slot of one of those, and a freed slot goes to the first waiter that accepts its host.

import { isThisMachine } from './local.ts';
import type { Host } from './types.ts';

export interface HostShare {
  host: Host;
  /** Boots at once on that host. */
  jobs: number;
}

export class HostSlots {
  private readonly free: Host[] = [];
  private readonly waiting: Array<{ accept: (h: Host) => boolean; give: (h: Host) => void }> = [];
  /** Every host of the run, once each, in the order slots are handed out. */
  readonly hosts: readonly Host[];
  /** Boots each host took, for the run's summary. */
  readonly taken = new Map<string, number>();

  constructor(shares: readonly HostShare[]) {
    // Remote slots first: a run given hosts means to use them; the local cores fill in.
    for (const s of [...shares].sort((a, b) => Number(isThisMachine(a.host)) - Number(isThisMachine(b.host)))) {
      for (let i = 0; i < s.jobs; i++) this.free.push(s.host);
    }
    this.size = this.free.length;
    this.hosts = [...new Set(this.free)];
  }

  /** Slots in all. */
  readonly size: number;
  private busy = 0;

  /** A slot on a host `accept` takes (default: any). */
  async acquire(accept: (h: Host) => boolean = () => true): Promise<Host> {
    if (!this.hosts.some(accept)) throw new Error('internal: no host of this run is acceptable for the boot');
    const i = this.free.findIndex(accept);
    const h = i >= 0 ? this.free.splice(i, 1)[0]! : await new Promise<Host>((give) => this.waiting.push({ accept, give }));
    this.busy++;
    this.taken.set(h.label, (this.taken.get(h.label) ?? 0) + 1);
    return h;
  }

  release(h: Host): void {
    this.busy--;
    const i = this.waiting.findIndex((w) => w.accept(h));
    if (i >= 0) this.waiting.splice(i, 1)[0]!.give(h);
    else this.free.unshift(h);
  }

  /** Runs f on a slot's host and frees the slot after. */
  async with<T>(f: (h: Host) => Promise<T>, accept?: (h: Host) => boolean): Promise<T> {
    const h = await this.acquire(accept);
    try {
      return await f(h);
    } finally {
      this.release(h);
    }
  }
}
