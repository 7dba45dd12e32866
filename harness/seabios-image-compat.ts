// Stand-in for harness/provision/seabios-image.ts (`e820 firmware build`, being written alongside):
// the same interface, so harness/user-toolchain.ts switches to it by changing one import. Reads
// the version string SeaBIOS embeds in its image (src/version.c / scripts/buildversion.py: the
// `VERSION` string printed by the banner `SeaBIOS (version %s)`, e.g. `1.16.2-debian-1.16.2-1`,
// `rel-1.16.3-0-g…`, or a bare `1.14.0-2` in Debian's 1.14 build).

import { stat, readFile } from 'node:fs/promises';

export interface SeabiosImageInfo {
  path: string;
  sizeBytes: number;
  /** The version string as embedded in the image. */
  versionString: string;
  /** X.Y.Z taken from it. */
  seabiosVersion: string;
  /** True when the version is not one the model has a profile for exactly (the caller decides). */
  extrapolated: boolean;
  /** 256 KiB images are bios-256k.bin builds; 128 KiB ones bios.bin (QEMU's roms/config.seabios-128k). */
  variant: 'bios-256k' | 'bios';
  /** Whether the build configuration is one the model knows (Debian's builds). */
  configKnown: boolean;
  assumption: string | null;
}

const KNOWN = ['1.14.0', '1.16.2', '1.16.3', '1.17.0'];

export async function identifySeabiosImage(path: string): Promise<SeabiosImageInfo> {
  const s = await stat(path);
  if (s.size !== 128 * 1024 && s.size !== 256 * 1024) throw new Error(`${s.size} bytes: SeaBIOS images for QEMU are 128 KiB (bios.bin) or 256 KiB (bios-256k.bin)`);
  const text = (await readFile(path)).toString('latin1');
  if (!text.includes('SeaBIOS (version %s)')) throw new Error('no "SeaBIOS (version %s)" banner in it');
  // The version string sits among the image's strings; take the first that starts like one.
  const m = /(?:^|[^\x20-\x7e])((?:rel-)?(\d+\.\d+\.\d+)[-.A-Za-z0-9_~+]*)\0/.exec(text);
  if (m === null) throw new Error('no SeaBIOS version string in it');
  const version = m[2]!;
  const variant = s.size === 256 * 1024 ? 'bios-256k' : 'bios';
  const debian = /debian|^\d+\.\d+\.\d+-\d+$/.test(m[1]!);
  return {
    path,
    sizeBytes: s.size,
    versionString: m[1]!,
    seabiosVersion: version,
    extrapolated: !KNOWN.includes(version),
    variant,
    configKnown: debian,
    assumption: debian ? null : 'not a Debian build: its configuration is assumed to be Debian\'s',
  };
}
