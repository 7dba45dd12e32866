// SeaBIOS stage: Handoff + SeaBIOS profile → FirmwareMap (the final E820 table INT 15h returns).
// Follows src/e820map.c, src/malloc.c, src/fw/paravirt.c, src/post.c and src/fw/pciinit.c of
// each release. Pure: the e820 list is a value that every step replaces; the stage never mutates
// its inputs.
//
// The parts (reference/seabios/): stage.ts (the composition, in POST order), e820-list.ts
// (e820_add/e820_remove), zonehigh.ts (malloc_preinit's zone and what POST puts in it), tables.ts
// (the tables SeaBIOS builds itself), pci.ts, int15.ts (the INT 15h services), log.ts.

export { seabiosStage } from './stage.ts';
export { e820Add, e820AddTagged, e820Remove, calcRamSize, type TaggedEntry, type E820Result } from './e820-list.ts';
export { selfBuiltAcpiTables, legacySmbiosBytes } from './tables.ts';
export { pciPadMem64 } from './pci.ts';
export { int15E820, int15E801, int1588, int15Answers, type Int15E820Result } from './int15.ts';
export { dumpMapLines } from './log.ts';
export { WRITE_POINTER_RECORD } from './zonehigh.ts';
