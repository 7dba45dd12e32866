// A scriptable ProvisionSystem: files in a map, commands answered by a handler, every call
// recorded. Lets provisioning's error paths run in milliseconds without touching the host.

import type { ProvisionSystem, RunOptions, RunResult } from '../../harness/provision/system.ts';

export interface Call {
  cmd: string;
  args: readonly string[];
  opts?: RunOptions | undefined;
}

export type Handler = (cmd: string, args: readonly string[], opts: RunOptions | undefined, fake: FakeSystem) => RunResult | undefined;

export class FakeSystem implements ProvisionSystem {
  readonly calls: Call[] = [];
  constructor(
    readonly files: Map<string, Uint8Array>,
    private readonly handler: Handler,
    public root = true,
    readonly path: Record<string, string> = {},
  ) {}

  async run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.calls.push({ cmd, args, opts });
    const r = this.handler(cmd, args, opts, this);
    if (!r) throw new Error(`fake system: unexpected command ${cmd} ${args.join(' ')}`);
    return r;
  }
  async pipe(a: [string, readonly string[]], b: [string, readonly string[]], opts?: RunOptions): Promise<RunResult> {
    await this.run(...a, opts);
    return this.run(...b, opts);
  }
  async which(name: string) {
    const p = this.path[name];
    return p !== undefined && this.files.has(p) ? p : null;
  }
  async exists(path: string) {
    return this.files.has(path);
  }
  async readFile(path: string) {
    const f = this.files.get(path);
    if (!f) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return f;
  }
  isRoot() {
    return this.root;
  }
}

export const ok = (stdout = ''): RunResult => ({ exitCode: 0, stdout, stderr: '' });
export const failed = (stderr: string, exitCode = 100): RunResult => ({ exitCode, stdout: '', stderr });

/** A minimal ELF64 little-endian header with one program header of type `ptype`. */
export function fakeElf(ptype: number): Uint8Array {
  const b = Buffer.alloc(64 + 56);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little-endian
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(1, 56); // e_phnum
  b.writeUInt32LE(ptype, 64);
  return b;
}
export const STATIC_ELF = fakeElf(1); // PT_LOAD only
export const DYNAMIC_ELF = fakeElf(3); // PT_INTERP
