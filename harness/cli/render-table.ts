// The per-layer table `predict` and `capture` print, apart from commands/capture.ts so that
// `predict` does not load the capture harness to print it.

import { E820_TYPE_NAMES } from '../../reference/e820.ts';
import type { LayerReport } from '../../reference/report.ts';
import type { Observation } from '../capture.ts';

const typeName = (t: number) => `${E820_TYPE_NAMES[t]?.short ?? 'type'} (${t})`;
const pad = (hex: string, width = 18) => `0x${hex.replace(/^0x/, '').padStart(width - 2, '0')}`;

/** The per-layer table: every field of the LayerReport, or why it is absent. */
export function renderTable(obs: Pick<Observation, 'report' | 'unobserved'> & { meta?: Partial<Observation['meta']> }): string {
  const r: LayerReport = obs.report;
  const out: string[] = [];
  const why = (layer: string, field: string) => {
    const u = obs.unobserved.find((x) => x.layer === layer && x.field === field);
    return `  (not observed${u ? `: ${u.reason}` : ''})`;
  };
  const section = (title: string, layer: string, field: string, rows: string[] | undefined) => {
    out.push(`${title}${rows ? ` — ${rows.length}` : ''}`);
    out.push(...(rows ? rows.map((l) => `  ${l}`) : [why(layer, field)]));
    out.push('');
  };

  section('qemu.e820 (fw_cfg etc/e820, file order: start, length, type)', 'qemu', 'e820',
    r.qemu?.e820?.map((e) => `${pad(e.start)}  ${pad(e.length)}  ${typeName(e.type)}`));
  section('firmware.e820 (the firmware\'s INT 15h E820 table: SeaBIOS, or qboot; end exclusive)', 'firmware', 'e820',
    r.firmware?.e820?.map((e) => `${pad(e.start)} - ${pad(e.end)}  ${typeName(e.type)}`));
  out.splice(out.length - 1, 0, ...(r.firmware?.zoneHighReturned !== undefined ? [`  ZoneHigh returned: ${r.firmware.zoneHighReturned} bytes`] : []));
  section('kernel.biosE820', 'kernel', 'biosE820', r.kernel?.biosE820);
  section('kernel.e820Edits', 'kernel', 'e820Edits', r.kernel?.e820Edits);
  section('kernel.memmap (/sys/firmware/memmap: start, end inclusive, type)', 'kernel', 'memmap',
    r.kernel?.memmap?.map((m) => `${m.start.padStart(14)}  ${m.end.padStart(14)}  ${m.type}`));
  section('kernel.iomem (/proc/iomem)', 'kernel', 'iomem', r.kernel?.iomem);

  const m = obs.meta;
  if (m) {
    out.push('run');
    if (m.qemuVersion) out.push(`  qemu: ${m.qemuVersion}`);
    if (m.seabiosBanner !== undefined) out.push(`  seabios: ${m.seabiosBanner ?? 'no banner'}; image: ${m.seabiosImage}`);
    if (m.kernelRelease) out.push(`  kernel: ${m.kernelRelease}`);
    if (m.cmdline !== undefined && m.scope !== 'firmware') out.push(`  cmdline: ${m.cmdline}`);
    if (m.accel !== undefined) out.push(`  accel: ${m.accel}`);
    if (m.scope === 'firmware') out.push('  scope: firmware (the harness ended the boot once SeaBIOS began booting)');
    if (m.wallMs !== undefined) out.push(`  boot: ${(m.wallMs / 1000).toFixed(2)} s`);
    for (const d of m.dropped ?? []) out.push(`  replaced by the harness: ${d.option}${d.value !== null ? ` ${d.value}` : ''} (${d.why})`);
    for (const w of m.warnings ?? []) out.push(`  warning: ${w}`);
  }
  return `${out.join('\n').trimEnd()}\n`;
}
