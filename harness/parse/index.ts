// Parsers for the logs one boot produces: pure text → typed values, errors with line numbers.
export { LogParseError, type LogSource } from './errors.ts';
export { splitLines, type SourceLine, type LinesInput } from './lines.ts';
export { splitSections, sectionBody, type Section, type SerialSections } from './sections.ts';
export { parseHexDump, decodeE820Records, parseFwCfgE820, FWCFG_E820_RECORD_BYTES } from './fwcfg.ts';
export { parseSeabiosLog, seabiosQemuRecords, seabiosTypeName, BOOT_LINE, type SeabiosLog, type SeabiosDump, type SeabiosQemuE820Line } from './seabios.ts';
export { parseDmesg, selectE820Lines, type DmesgRecord, type KernelE820Lines } from './dmesg.ts';
export { parseIomem, type IomemNode } from './iomem.ts';
export { parseMemmap } from './memmap.ts';
export { parseBoot, parseFirmwareBoot, FIRMWARE_SCOPE_PREFIX, KERNEL_FIELDS, type BootObservation, type Unobserved } from './boot.ts';
