import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

import { CpioError, writeCpio, type CpioEntry } from '../../guests/cpio.ts';

/** A tiny independent newc reader, to check the writer without trusting it. */
function readNewc(buf: Buffer): { name: string; mode: number; nlink: number; rdev: [number, number]; data: Buffer }[] {
  const out = [];
  let off = 0;
  for (;;) {
    expect(buf.toString('ascii', off, off + 6)).toBe('070701');
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const nlink = field(4);
    const size = field(6);
    const rdev: [number, number] = [field(9), field(10)];
    const namesize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    expect(buf[off + 110 + namesize - 1]).toBe(0);
    let p = off + 110 + namesize;
    p += (4 - (p % 4)) % 4;
    const data = buf.subarray(p, p + size);
    p += size;
    p += (4 - (p % 4)) % 4;
    off = p;
    if (name === 'TRAILER!!!') break;
    out.push({ name, mode, nlink, rdev, data });
  }
  expect(off).toBe(buf.length);
  return out;
}

const hasCpio = (() => {
  try {
    execFileSync('cpio', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('writeCpio', () => {
  it('writes the hand-computed header for one file', () => {
    const buf = writeCpio([{ type: 'file', path: '/init', data: 'abc', mode: 0o755 }]);
    const expected =
      '070701' +
      '00000001' + // ino
      '000081ed' + // mode: S_IFREG | 0755
      '00000000' + // uid
      '00000000' + // gid
      '00000001' + // nlink
      '00000000' + // mtime
      '00000003' + // filesize
      '00000000' + // devmajor
      '00000000' + // devminor
      '00000000' + // rdevmajor
      '00000000' + // rdevminor
      '00000005' + // namesize: "init" + NUL
      '00000000'; // check
    expect(buf.toString('ascii', 0, 110)).toBe(expected);
    // 110 + 5 = 115 → one pad byte to 116; data 3 bytes → one pad byte to 120.
    expect(buf.subarray(110, 116)).toEqual(Buffer.from('init\0\0', 'latin1'));
    expect(buf.subarray(116, 120)).toEqual(Buffer.from('abc\0', 'latin1'));
    expect(buf.toString('ascii', 120, 126)).toBe('070701');
    expect(buf.toString('ascii', 120 + 110, 120 + 110 + 10)).toBe('TRAILER!!!');
    expect(buf.length % 4).toBe(0);
  });

  it('encodes directories, symlinks and device nodes', () => {
    const entries = readNewc(
      writeCpio([
        { type: 'dir', path: 'dev' },
        { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
        { type: 'dir', path: 'bin' },
        { type: 'symlink', path: 'bin/sh', target: 'busybox' },
        { type: 'blockdev', path: 'dev/vda', major: 254, minor: 0, mode: 0o660 },
      ]),
    );
    expect(entries.map((e) => [e.name, e.mode.toString(8)])).toEqual([
      ['dev', '40755'],
      ['dev/console', '20600'],
      ['bin', '40755'],
      ['bin/sh', '120777'],
      ['dev/vda', '60660'],
    ]);
    expect(entries[0]!.nlink).toBe(2);
    expect(entries[1]!.rdev).toEqual([5, 1]);
    expect(entries[3]!.data.toString()).toBe('busybox');
  });

  it('is deterministic', () => {
    const e: CpioEntry[] = [{ type: 'file', path: 'a', data: new Uint8Array([1, 2, 3, 4, 5]) }];
    expect(writeCpio(e).equals(writeCpio(e))).toBe(true);
  });

  it('rejects a child before its parent, duplicates, "..", and oversized modes', () => {
    expect(() => writeCpio([{ type: 'file', path: 'bin/sh', data: '' }])).toThrow(CpioError);
    expect(() => writeCpio([{ type: 'file', path: 'bin/sh', data: '' }])).toThrow(/parent directory "bin"/);
    expect(() =>
      writeCpio([
        { type: 'dir', path: 'x' },
        { type: 'dir', path: '/x/' },
      ]),
    ).toThrow(/duplicate/);
    expect(() => writeCpio([{ type: 'file', path: '../etc/passwd', data: '' }])).toThrow(/\.\./);
    expect(() => writeCpio([{ type: 'file', path: 'f', data: '', mode: 0o100644 }])).toThrow(/mode/);
  });

  it('round-trips any names and contents through an independent reader', () => {
    const name = fc.stringMatching(/^[a-z0-9_.-]{1,40}$/).filter((n) => n !== '.' && n !== '..');
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, fc.uint8Array({ maxLength: 64 })), { selector: ([n]) => n, maxLength: 12 }), (files) => {
        const buf = writeCpio(files.map(([n, d]) => ({ type: 'file', path: n, data: d })));
        expect(buf.length % 4).toBe(0);
        const back = readNewc(buf);
        expect(back.map((e) => e.name)).toEqual(files.map(([n]) => n));
        back.forEach((e, i) => expect(new Uint8Array(e.data)).toEqual(files[i]![1]));
      }),
    );
  });
});

describe('writeCpio against GNU cpio', () => {
  const noCpio = 'GNU cpio is not installed here (apt-get install cpio): the archive is only checked by the independent reader above';
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const archive = writeCpio([
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/tool', data: 'hello\n', mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'tool' },
    { type: 'dir', path: 'dev' },
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'odd', data: 'x' },
  ]);

  it('cpio -t lists every entry', (ctx) => {
    if (!hasCpio) ctx.skip(noCpio);
    const out = execFileSync('cpio', ['-t', '--quiet'], { input: archive }).toString();
    expect(out.trim().split('\n')).toEqual(['bin', 'bin/tool', 'bin/sh', 'dev', 'dev/console', 'odd']);
    const long = execFileSync('cpio', ['-tv', '--quiet'], { input: archive }).toString();
    expect(long).toMatch(/^crw------- .*\b5,\s+1 .*dev\/console$/m);
  });

  it('cpio -i extracts contents, modes and symlinks', (ctx) => {
    if (!hasCpio) ctx.skip(noCpio);
    dir = mkdtempSync(join(tmpdir(), 'e820-cpio-'));
    // Device nodes are skipped on extract: creating them is not what is under test.
    const noDev = writeCpio([
      { type: 'dir', path: 'bin' },
      { type: 'file', path: 'bin/tool', data: 'hello\n', mode: 0o755 },
      { type: 'symlink', path: 'bin/sh', target: 'tool' },
      { type: 'file', path: 'odd', data: 'x' },
    ]);
    execFileSync('cpio', ['-i', '--quiet', '--no-absolute-filenames', '-D', dir], { input: noDev });
    expect(readFileSync(join(dir, 'bin/tool'), 'utf8')).toBe('hello\n');
    expect(lstatSync(join(dir, 'bin/tool')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dir, 'bin/sh'))).toBe('tool');
    expect(readFileSync(join(dir, 'odd'), 'utf8')).toBe('x');
    expect(existsSync(join(dir, 'TRAILER!!!'))).toBe(false);
  });
});
