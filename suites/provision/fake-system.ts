// A scriptable Host for provisioning: files in a map, programs answered by a handler, every call
// recorded. Lets provisioning's error paths run in milliseconds without touching the machine.

import type { DirEntry, ExecOptions, ExecResult, Host, HostProcess } from '../../harness/host/types.ts';

export interface Call {
  cmd: string;
  args: readonly string[];
  opts?: ExecOptions | undefined;
}

/** What a handler answers: exit status and output (no signal, no timeout unless it says so). */
export type FakeResult = Pick<ExecResult, 'exitCode' | 'stdout' | 'stderr'> & Partial<ExecResult>;

export type Handler = (cmd: string, args: readonly string[], opts: ExecOptions | undefined, fake: FakeHost) => FakeResult | undefined;

const unused = (what: string): never => {
  throw new Error(`fake host: provisioning does not ${what}`);
};

/** What provisioning never asks of a host (it writes its cache with node:fs); each call throws. */
export abstract class HostWithoutFiles implements Host {
  readonly label: string = 'fake';
  abstract exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  abstract pipe(a: readonly string[], b: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  abstract which(name: string): Promise<string | null>;
  abstract exists(path: string): Promise<boolean>;
  abstract readFile(path: string): Promise<Buffer>;
  abstract isRoot(): Promise<boolean>;
  spawnGroup(): Promise<HostProcess> {
    return unused('start process groups');
  }
  readFrom(): Promise<Buffer | null> {
    return unused('follow files');
  }
  writeFile(): Promise<void> {
    return unused('write files through the host');
  }
  readDir(): Promise<DirEntry[]> {
    return unused('list directories through the host');
  }
  makeTempDir(): Promise<string> {
    return unused('make temp dirs through the host');
  }
  removeDir(): Promise<void> {
    return unused('remove dirs through the host');
  }
  async close() {}
}

export class FakeHost extends HostWithoutFiles {
  readonly calls: Call[] = [];
  constructor(
    readonly files: Map<string, Uint8Array>,
    private readonly handler: Handler,
    public root = true,
    readonly path: Record<string, string> = {},
  ) {
    super();
  }

  async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const [cmd = '', ...args] = argv;
    this.calls.push({ cmd, args, opts });
    const r = this.handler(cmd, args, opts, this);
    if (!r) throw new Error(`fake host: unexpected command ${cmd} ${args.join(' ')}`);
    return { signal: null, timedOut: false, ...r };
  }
  async pipe(a: readonly string[], b: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    await this.exec(a, opts);
    return this.exec(b, opts);
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
    return Buffer.from(f);
  }
  async isRoot() {
    return this.root;
  }
}

export const ok = (stdout = ''): ExecResult => ({ exitCode: 0, signal: null, stdout, stderr: '', timedOut: false });
export const failed = (stderr: string, exitCode = 100): ExecResult => ({ exitCode, signal: null, stdout: '', stderr, timedOut: false });

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
