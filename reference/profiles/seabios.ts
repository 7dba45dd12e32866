// SeaBIOS behaviour per release, as data. Sources: SeaBIOS's src/config.h,
// src/malloc.c, src/fw/paravirt.c, src/fw/biostables.c per tag, and the Debian binaries.
// The SeaBIOS stage reads these; it never compares version strings.

import { KiB, MiB } from '../address.ts';
import type { SeabiosVersion } from '../toolchain.ts';

export interface SeabiosProfile {
  version: SeabiosVersion;
  /** VERSION string of the Debian build (SMBIOS type 0 and the banner). */
  versionString: string;
  /** BUILD_MAX_E820 (src/config.h): 32 → 128 in 1.16.3 (commit 774a823a). */
  maxE820: number;
  /** ZoneHigh sizes tried by malloc_preinit: [BUILD_MAX_HIGHTABLE, BUILD_MIN_HIGHTABLE] (16 MiB from 1.16.1). */
  zoneHighSizes: readonly bigint[];
  /** Debug level of `qemu/e820: … [reserved]` (3 → hidden in stock builds; 1 from 1.16.3, commit ecc51f21). */
  reservedLineLogLevel: number;
  /** Prints `physbits: …` / `cpuid …` lines (1.16.3+). */
  logsPhysbits: boolean;
  /** e820_is_used() moves the 64-bit PCI window off reserved ranges (1.16.3+). */
  e820IsUsed: boolean;
  /** Understands QEMU's SMBIOS 3.0 anchor (1.14.0 falls back to its own legacy tables). */
  smbios30: boolean;
  /**
   * The AML templates of the ACPI tables it builds itself when QEMU has no table-loader (machine
   * types ≤ 1.6, or acpi=off on q35); null from 1.17.0, which dropped that code (commit 35aa9a72
   * "drop obsolete acpi table code").
   */
  selfBuiltAcpi: SelfBuiltAcpiAml | null;
  /** Does Debian's 128 KiB bios.bin print on port 0x402 (1.16.3-2 / 1.17.0-1 build it with DEBUG_IO off). */
  biosBinDebugIo: boolean;
  /** Does the NVMe driver fit (1.14.0's 256 KiB zone: nvme_controller_enable fails, no reservation). */
  zoneHighFitsNvme: boolean;
  /**
   * When pci_setup (src/fw/pciinit.c) sets pci_pad_mem64, which sends every 64-bit memory BAR to the
   * window above 4 GiB: 'never' (1.14.0, 1.16.2: only when the 32-bit window overflows, not
   * modelled); 'ram-over-4g-physbits36' (1.16.3: `CPUPhysBits >= 36 && CPULongMode &&
   * RamSizeOver4G`); 'ram-over-4g' (1.17.0: `RamSizeOver4G` unless fw_cfg opt/org.seabios/pci64
   * says otherwise, forced off without long mode; no phys-bits condition).
   */
  mem64BarsHigh: 'never' | 'ram-over-4g-physbits36' | 'ram-over-4g';
}

/**
 * Sizes of the AML that src/fw/acpi.c (rel-1.14.0 to rel-1.16.3, unchanged) copies into the tables
 * it builds: the DSDT (`AmlCode`, acpi-dsdt.hex), the fixed part of the SSDT (`ssdp_misc_aml`,
 * ssdt-misc.hex), one Processor object (PROC_SIZEOF, ssdt-proc.hex) and one hotplug slot Device
 * (PCIHP_SIZEOF, ssdt-pcihp.hex).
 */
export interface SelfBuiltAcpiAml {
  dsdtBytes: number;
  ssdtMiscBytes: number;
  processorBytes: number;
  pciSlotBytes: number;
}

/**
 * Debian's build regenerates the .hex files with its own iasl, so its AML is not the size of the
 * .hex files in SeaBIOS's git (DSDT 0x1135, ssdt-misc 0x162 bytes there): the DSDT and SSDT headers
 * inside Debian's bios.bin and bios-256k.bin of 1.14.0-2, 1.16.2-1 and 1.16.3-2, and in the images
 * `e820 firmware build` makes from those sources, all say DSDT 0x11e9 and ssdt-misc 0x184 bytes; the
 * Processor object (0x54) and the slot Device (0x27) keep their git sizes (their templates are
 * 0x79 and 0xa2 bytes long with iasl's External() prologue, which acpi.c does not copy).
 */
const DEBIAN_SELF_BUILT_ACPI_AML: SelfBuiltAcpiAml = { dsdtBytes: 0x11e9, ssdtMiscBytes: 0x184, processorBytes: 0x54, pciSlotBytes: 0x27 };

// ZoneHigh sizes: src/config.h BUILD_MAX_HIGHTABLE / BUILD_MIN_HIGHTABLE (docs/model/seabios.md#choosing-the-zone).
const ZONE_256K = 256n * KiB;
const ZONE_16M = 16n * MiB;

export const SEABIOS_PROFILES: Readonly<Record<SeabiosVersion, SeabiosProfile>> = {
  '1.14.0': {
    version: '1.14.0',
    versionString: '1.14.0-2',
    maxE820: 32,
    zoneHighSizes: [ZONE_256K],
    reservedLineLogLevel: 3,
    logsPhysbits: false,
    e820IsUsed: false,
    smbios30: false,
    selfBuiltAcpi: DEBIAN_SELF_BUILT_ACPI_AML,
    biosBinDebugIo: true,
    zoneHighFitsNvme: false,
    mem64BarsHigh: 'never',
  },
  '1.16.2': {
    version: '1.16.2',
    versionString: '1.16.2-debian-1.16.2-1',
    maxE820: 32,
    zoneHighSizes: [ZONE_16M, ZONE_256K],
    reservedLineLogLevel: 3,
    logsPhysbits: false,
    e820IsUsed: false,
    smbios30: true,
    selfBuiltAcpi: DEBIAN_SELF_BUILT_ACPI_AML,
    biosBinDebugIo: true,
    zoneHighFitsNvme: true,
    mem64BarsHigh: 'never',
  },
  '1.16.3': {
    version: '1.16.3',
    versionString: '1.16.3-debian-1.16.3-2',
    maxE820: 128,
    zoneHighSizes: [ZONE_16M, ZONE_256K],
    reservedLineLogLevel: 1,
    logsPhysbits: true,
    e820IsUsed: true,
    smbios30: true,
    selfBuiltAcpi: DEBIAN_SELF_BUILT_ACPI_AML,
    biosBinDebugIo: false,
    zoneHighFitsNvme: true,
    mem64BarsHigh: 'ram-over-4g-physbits36',
  },
  '1.17.0': {
    version: '1.17.0',
    versionString: '1.17.0-debian-1.17.0-1',
    maxE820: 128,
    zoneHighSizes: [ZONE_16M, ZONE_256K],
    reservedLineLogLevel: 1,
    logsPhysbits: true,
    e820IsUsed: true,
    smbios30: true,
    selfBuiltAcpi: null,
    biosBinDebugIo: false,
    zoneHighFitsNvme: true,
    mem64BarsHigh: 'ram-over-4g',
  },
};

export function seabiosProfile(version: SeabiosVersion): SeabiosProfile {
  return SEABIOS_PROFILES[version];
}

// ---- Fixed layout (src/config.h, src/malloc.c, src/fw/paravirt.c, src/fw/pciinit.c; same in all four tags).

export const SEABIOS_LAYOUT = {
  /** src/fw/pciinit.c BUILD_PCIMEM_END: the 32-bit PCI window's end (exclusive) in SeaBIOS's own DSDT. */
  PCIMEM_END: 0xfec00000n,
  /** src/hw/pci_ids.h / dev-q35.h Q35_HOST_BRIDGE_PCIEXBAR_ADDR + 256 MiB: q35's pcimem_start (mch_mmconfig_setup). */
  Q35_PCIMEM_START: 0xb0000000n + 0x10000000n,
  /** paravirt.c qemu_preinit: top 256 KiB below 4 GiB, independent of the ROM image size. */
  BIOS_RESERVE_START: 0xfffc0000n,
  BIOS_RESERVE_SIZE: 0x40000n,
  /** BUILD_LOWRAM_END .. BUILD_BIOS_ADDR is removed from the map (malloc_preinit). */
  LOWRAM_END: 0xa0000n,
  BIOS_ADDR: 0xf0000n,
  BIOS_SIZE: 0x10000n,
  /** EBDA_SIZE_START = ceil(sizeof(struct extended_bios_data_area_s) = 0x121 / 1 KiB) KiB; EBDA at 0xa0000 − 1 KiB. */
  EBDA_SIZE: 0x400n,
  /** q35 mch_mem_addr_setup: PCIe MMCONFIG window; mch_isa_bridge_setup: ICH9 RCBA. */
  Q35_MMCONFIG_START: 0xb0000000n,
  Q35_MMCONFIG_SIZE: 0x10000000n,
  Q35_RCBA_START: 0xfed1c000n,
  Q35_RCBA_SIZE: 0x4000n,
  /** Legacy path: KVM identity pages when key 0x8003 holds no entry (paravirt.c qemu_cfg_e820). */
  KVM_LEGACY_IDENTITY_START: 0xfffbc000n,
  KVM_LEGACY_IDENTITY_SIZE: 0x4000n,
  /** BUILD_MAX_SMBIOS_FSEG: bigger SMBIOS tables go to ZoneHigh. */
  MAX_SMBIOS_FSEG: 600,
  /** MALLOC_MIN_ALIGN. */
  MALLOC_MIN_ALIGN: 16n,
  PAGE_SIZE: 4096n,
  /**
   * src/system.c handle_15e801 (the same in 1.14.0–1.17.0): LegacyRamSize above this answers
   * CX = 15 MiB in KiB and DX = the 64 KiB blocks above it; at or below it CX = the KiB above 1 MiB.
   */
  INT15_E801_SPLIT: 16n * 1024n * 1024n,
  /** src/system.c handle_1588: LegacyRamSize above this answers AX = 63 MiB in KiB ("real machines mostly return max. 63M"). */
  INT15_88H_LIMIT: 64n * 1024n * 1024n,
  /** E820_HOLE: the internal type e820_remove paints with. */
  E820_HOLE: 0xffffffff,
  /** SeaBIOS's own SMBIOS type 0: 24-byte fixed part + "SeaBIOS\0" + VERSION\0 + "04/01/2014\0" + final NUL. */
  smbiosType0Bytes: (versionString: string): number => 24 + 8 + versionString.length + 1 + 11 + 1,
} as const;

/**
 * Calibration: permanent ZoneHigh allocations a device driver leaves behind, as (size, align) in
 * allocation order. They are effective footprints that reproduce the measured reserved-block sizes,
 * not the drivers' exact structure sizes. Provenance: QEMU 7.2.22 + Debian SeaBIOS 1.16.2-1, -m 1G,
 * default queue sizes (docs/model/calibration.md#device-footprints-in-zonehigh; ahci from src/hw/ahci.c ahci_port_realloc).
 */
export const DEVICE_ZONEHIGH_FOOTPRINT: Readonly<Record<string, ReadonlyArray<{ size: bigint; align: bigint }>>> = {
  /** One AHCI port with a drive: cmd list 1024@1024, FIS 256@256, cmd table 256@256 → +0x1000 block. */
  'ahci-port': [
    { size: 1024n, align: 1024n },
    { size: 256n, align: 256n },
    { size: 256n, align: 256n },
  ],
  /**
   * One virtio-blk disk: the queue, memalign_high(PAGE_SIZE,
   * sizeof(struct vring_virtqueue)) (src/hw/virtio-pci.c vp_find_vq). With MAX_QUEUE_NUM 256 the
   * struct is ≈ 0x2a24 bytes (src/hw/virtio-ring.h layout). The measurements pin it inside
   * (0x2a00, 0x3000]: pc +0x3000 for one disk, +0x6000 for two; q35 with its AHCI CD-ROM below
   * the ACPI blob +0x4000 (QEMU 7.2.22 + SeaBIOS 1.16.2-1, this machine).
   */
  'virtio-blk': [{ size: 0x2a24n, align: 4096n }],
  /**
   * One virtio-scsi controller with ≥ 1 disk (src/hw/virtio-scsi.c init_virtio_scsi):
   * malloc_high(sizeof(struct vp_device)) = 68 bytes (5 × 12-byte vp_cap + u32 + 2 × u8, padded;
   * src/hw/virtio-pci.h), then vp_find_vq's memalign_high(PAGE_SIZE, sizeof(struct
   * vring_virtqueue) = 0x2a24) for the request queue. Measured: pc and q35 -nodefaults +0x3000
   * (the scsi-hd device removes q35's default CD-ROM, so no AHCI bytes sit below the ACPI blob).
   */
  'virtio-scsi': [
    { size: 68n, align: 16n },
    { size: 0x2a24n, align: 4096n },
  ],
  /**
   * One NVMe controller with one active namespace, SeaBIOS rel-1.16.2 src/hw/nvme.c, in order:
   * nvme_controller_setup malloc_high(sizeof(struct nvme_ctrl)) = 88 bytes (i386 layout of
   * src/hw/nvme-int.h); nvme_controller_enable's admin CQ then SQ (zalloc_page_aligned, one
   * NVME_PAGE_SIZE each); nvme_create_io_queues' I/O CQ (min(CAP.MQES + 1, 256) × 16 B = 4 KiB)
   * and I/O SQ (the same entry count × 64 B = 16 KiB; QEMU's MQES is 0x7ff); nvme_probe_ns's
   * nvme_dma_buffer (one page, once per boot). The identify buffers come from ZoneTmpHigh and are
   * freed: no ZoneHigh trace. The 88-byte struct lands in the slack above an earlier
   * page-aligned block (a virtio queue): pc -m 1G NVMe alone +0x9000, with a virtio-blk disk
   * +0xb000, not +0xc000 (QEMU 7.2.22 + SeaBIOS 1.16.2-1, observed).
   */
  nvme: [
    { size: 88n, align: 16n },
    { size: 4096n, align: 4096n },
    { size: 4096n, align: 4096n },
    { size: 4096n, align: 4096n },
    { size: 16384n, align: 4096n },
    { size: 4096n, align: 4096n },
  ],
  /**
   * A pvscsi controller, disk or not: src/hw/pvscsi.c init_pvscsi (run_thread, which runs it at
   * once) → pvscsi_init_rings before its first wait: malloc_high of struct pvscsi_ring_dsc_s (three
   * 32-bit pointers, 12 bytes), then the rings state, request and completion rings, one page each
   * (memalign_high(PAGE_SIZE, PAGE_SIZE)). Kept for the boot (the driver never frees them).
   */
  pvscsi: [
    { size: 12n, align: 16n },
    { size: 4096n, align: 4096n },
    { size: 4096n, align: 4096n },
    { size: 4096n, align: 4096n },
  ],
};

/**
 * Drivers a SeaBIOS image was built without, keyed by the image's file name. QEMU's 128 KiB
 * bios.bin (roms/config.seabios-128k: CONFIG_NVME, CONFIG_USB_XHCI, CONFIG_USB_OHCI, CONFIG_PVSCSI
 * = n, to fit 128 KiB) is what pc-i440fx-1.7 and older boot (their default_machine_opts carry no
 * `firmware=bios-256k.bin`) and what isapc boots. Checked on Debian's 1.14.0-2, 1.16.2-1, 1.16.3-2
 * and 1.17.0-1 builds: bios.bin has no "NVMe"/"XHCI"/"OHCI"/"pvscsi" strings, bios-256k.bin has
 * them; `-M pc-i440fx-1.7 -device nvme` leaves no ZoneHigh footprint (7.2 + 1.16.2, observed).
 * Keys are DEVICE_ZONEHIGH_FOOTPRINT / transient-driver kinds.
 */
export const IMAGE_MISSING_DRIVERS: Readonly<Record<string, readonly string[]>> = {
  'bios.bin': ['nvme', 'xhci', 'ohci', 'pvscsi'],
  'bios-256k.bin': [],
};

/**
 * The two configurations Debian's debian/rules builds for QEMU (seabios 1.14.0-2 … 1.17.0-1):
 * `bios-256k` (bios-256k-config: QEMU=y ROM_SIZE=256) and `bios` (bios-config: the 128 KiB
 * build without the drivers above). An image's variant selects its IMAGE_MISSING_DRIVERS entry.
 */
export const BIOS_VARIANTS = ['bios-256k', 'bios'] as const;
export type BiosVariant = (typeof BIOS_VARIANTS)[number];

/** The drivers missing from an image: by its explicit variant, else by its file name (null: not modelled). */
export function imageMissingDrivers(biosImage: string, variant?: BiosVariant): readonly string[] | null {
  if (variant !== undefined) return IMAGE_MISSING_DRIVERS[`${variant}.bin`] ?? null;
  return IMAGE_MISSING_DRIVERS[biosImage.replace(/^.*\//, '')] ?? null;
}

/**
 * USB host-controller drivers (src/hw/usb-xhci.c, usb-ehci.c, usb-uhci.c, usb-ohci.c): they
 * allocate their controller structures in ZoneHigh and free them all when no USB device is found,
 * so alone they leave nothing (src/malloc.c malloc_prepboot gives freed space back; -device qemu-xhci alone, observed).
 */
export const TRANSIENT_USB_DRIVERS: readonly string[] = ['xhci', 'ehci', 'uhci', 'ohci'];

/**
 * What a UHCI controller holds in ZoneHigh while it looks for devices (src/hw/usb-uhci.c
 * configure_uhci, in this order, before its first yield): term_td (struct uhci_td, 16 bytes),
 * the frame list (1024 × u32, memalign_high(4096, 4096)), intr_pipe and term_pipe (struct
 * uhci_pipe: an 8-byte uhci_qh, a pointer, the 12-byte usb_pipe, u16, u8 = 28 bytes). malloc_high
 * aligns to 16. usb_setup runs before block_setup (src/post.c device_hardware_setup) and
 * uhci_controller_setup starts configure_uhci with run_thread, which runs it at once; it then polls
 * each port for USB_TIME_SIGATT (100 ms) before it frees them. So a disk driver's allocation lands
 * below them, and the freed blocks stay inside the reserved range: measured +0x2000 over the disk
 * alone (`-M pc -m 1G -usb` with a virtio-blk disk, QEMU 7.2 + SeaBIOS 1.16.2, 3 of 3 boots).
 */
export const UHCI_PROBE_FOOTPRINT: ReadonlyArray<{ size: bigint; align: bigint }> = [
  { size: 16n, align: 16n },
  { size: 4096n, align: 4096n },
  { size: 28n, align: 16n },
  { size: 28n, align: 16n },
];

/**
 * The same for xHCI (src/hw/usb-xhci.c, rel-1.14.0 to rel-1.16.3): xhci_controller_setup's
 * malloc_high of struct usb_xhci_s (76 bytes in SeaBIOS's 32-bit layout), then configure_xhci,
 * which run_thread starts at once and which allocates before its first wait: the device-context
 * array (memalign_high 64, 8 × (slots + 1): QEMU's xHCI has 64 slots), the event ring segment
 * table (64, 16 bytes) and the command and event rings (XHCI_RING_SIZE 256, struct xhci_ring 288
 * bytes). With no USB device it frees them only after probing the ports, long after the disk
 * drivers allocated below them. Measured: pc-i440fx-1.7 -m 1G with the 256 KiB image, qemu-xhci and
 * a virtio-blk disk, 0x6000 (6 of 6 boots under varying load); QEMU 7.2 + SeaBIOS 1.16.2.
 */
export const XHCI_PROBE_FOOTPRINT: ReadonlyArray<{ size: bigint; align: bigint }> = [
  { size: 76n, align: 16n },
  { size: 520n, align: 64n },
  { size: 16n, align: 64n },
  { size: 288n, align: 256n },
  { size: 288n, align: 256n },
];

/**
 * Why this image prints nothing on the debug port (0x402), or null when it logs: Debian builds
 * the 128 KiB bios.bin of 1.16.3 and 1.17.0 without DEBUG_IO (biosBinDebugIo), so its map can be
 * predicted but not observed (only SeaVGABIOS's lines reach the port). By the explicit variant,
 * else by the image's file name.
 */
export function firmwareLogSilence(profile: SeabiosProfile, biosImage: string, variant?: BiosVariant): string | null {
  const is128k = variant !== undefined ? variant === 'bios' : biosImage.replace(/^.*\//, '') === 'bios.bin';
  if (!is128k || profile.biosBinDebugIo) return null;
  return `SeaBIOS ${profile.version}'s 128 KiB bios.bin (Debian's build) is built without debug output (DEBUG_IO off): it prints nothing on port 0x402, so its map cannot be observed`;
}
