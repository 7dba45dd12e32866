// Minimal ELF program-header reader: enough to tell a statically linked executable (no
// PT_INTERP) from a dynamic one without running it or depending on `file`. The guest has
// no libc, so a dynamically linked /init would fail there with a bare "not found".

const PT_INTERP = 3;

export type ElfLinkage = 'static' | 'dynamic' | 'not-elf';

export function elfLinkage(bytes: Uint8Array): ElfLinkage {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 52 || b.readUInt32BE(0) !== 0x7f454c46) return 'not-elf';
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  if ((b[4] !== 1 && !is64) || (b[5] !== 1 && b[5] !== 2)) return 'not-elf';
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  if (is64 && b.length < 64) return 'not-elf';
  const phoff = is64 ? u64(32) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  if (phentsize === 0 || phoff + phentsize * phnum > b.length) return 'not-elf';
  for (let i = 0; i < phnum; i++) {
    if (u32(phoff + i * phentsize) === PT_INTERP) return 'dynamic';
  }
  return 'static';
}
