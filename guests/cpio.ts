// A cpio "newc" (SVR4, no CRC) archive writer: the only format the kernel's initramfs
// unpacker (init/initramfs.c) accepts. Output is deterministic (inodes numbered in entry
// order, mtime 0 unless given) so the same inputs always give the same bytes and cache key.
//
// Layout per entry: 110-byte ASCII header "070701" + 13 eight-digit hex fields, the name
// with its NUL, padded so header+name is a multiple of 4, then the data padded to 4.
// The archive ends with an entry named TRAILER!!!.

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';

// st_mode file-type bits (sys/stat.h).
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array | string; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev' | 'blockdev'; path: string; major: number; minor: number; mode?: number };

export class CpioError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cpio entry ${JSON.stringify(path)}: ${reason}`);
    this.name = 'CpioError';
  }
}

export interface CpioOptions {
  /** Modification time written into every header (seconds since the epoch). Default 0. */
  mtime?: number;
}

/** Archive paths are relative ("bin/sh"), never absolute or with "..": the kernel unpacks
 * relative to rootfs and `cpio -i` would refuse or escape the target directory. */
function normalizePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) throw new CpioError(path, 'empty path');
  if (parts.includes('..')) throw new CpioError(path, 'path contains ".."');
  return parts.join('/');
}

function hex8(n: number, path: string, field: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new CpioError(path, `${field} ${n} does not fit in a 32-bit header field`);
  }
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

interface Header {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  filesize: number;
  rdevmajor: number;
  rdevminor: number;
  name: string;
}

function headerBytes(h: Header): Buffer {
  const name = Buffer.from(h.name + '\0', 'utf8');
  const fields = [
    h.ino,
    h.mode,
    0, // uid: root
    0, // gid: root
    h.nlink,
    h.mtime,
    h.filesize,
    0, // devmajor
    0, // devminor
    h.rdevmajor,
    h.rdevminor,
    name.length, // namesize includes the NUL
    0, // check: only used by the "070702" CRC format
  ];
  const text = MAGIC + fields.map((f, i) => hex8(f, h.name, `header field ${i}`)).join('');
  return Buffer.concat([Buffer.from(text, 'ascii'), name, Buffer.alloc(pad4(text.length + name.length))]);
}

/** Writes an uncompressed newc archive. Parents must come before their children (the
 * kernel does not create missing directories); duplicate paths are rejected. */
export function writeCpio(entries: readonly CpioEntry[], opts: CpioOptions = {}): Buffer {
  const mtime = opts.mtime ?? 0;
  const chunks: Buffer[] = [];
  const dirs = new Set<string>();
  const seen = new Set<string>();
  let ino = 1;
  for (const e of entries) {
    const name = normalizePath(e.path);
    if (seen.has(name)) throw new CpioError(e.path, 'duplicate path');
    seen.add(name);
    const parent = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '';
    if (parent !== '' && !dirs.has(parent)) {
      throw new CpioError(e.path, `parent directory ${JSON.stringify(parent)} must be listed before it`);
    }
    let data: Buffer = Buffer.alloc(0);
    let mode: number;
    let nlink = 1;
    let rdevmajor = 0;
    let rdevminor = 0;
    switch (e.type) {
      case 'dir':
        mode = S_IFDIR | (e.mode ?? 0o755);
        nlink = 2;
        dirs.add(name);
        break;
      case 'file':
        mode = S_IFREG | (e.mode ?? 0o644);
        data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : Buffer.from(e.data);
        break;
      case 'symlink':
        // A symlink's target is stored as its data, without a NUL.
        if (e.target === '') throw new CpioError(e.path, 'empty symlink target');
        mode = S_IFLNK | 0o777;
        data = Buffer.from(e.target, 'utf8');
        break;
      case 'chardev':
      case 'blockdev':
        mode = (e.type === 'chardev' ? S_IFCHR : S_IFBLK) | (e.mode ?? 0o600);
        rdevmajor = e.major;
        rdevminor = e.minor;
        break;
    }
    if ((e.type === 'dir' || e.type === 'file' || e.type === 'chardev' || e.type === 'blockdev') && e.mode !== undefined) {
      if (e.mode & ~0o7777) throw new CpioError(e.path, `mode 0o${e.mode.toString(8)} has bits beyond permissions`);
    }
    chunks.push(headerBytes({ ino: ino++, mode, nlink, mtime, filesize: data.length, rdevmajor, rdevminor, name }));
    chunks.push(data, Buffer.alloc(pad4(data.length)));
  }
  chunks.push(headerBytes({ ino: 0, mode: 0, nlink: 1, mtime: 0, filesize: 0, rdevmajor: 0, rdevminor: 0, name: TRAILER }));
  return Buffer.concat(chunks);
}
