// The JSON shape of one prediction, as `predict --json` prints it and `predict --batch` writes it
// per line: the layer report, the toolchain, the KVM host facts when used, and which rule made
// each firmware entry.

import type { Prediction } from '../../reference/predict.ts';
import type { HostFactsReport } from '../host-facts.ts';

/** Which rule produced each entry, per layer: the readable `--explain` and the JSON `explain`. */
export function explanation(p: Prediction): { firmwareRoad: string[]; firmware: string[]; memoryPath: string[]; warnings: string[]; unpredicted: string[] } {
  const m = p.memoryPath;
  return {
    // Which firmware built the table the kernel is handed (reference/firmware.ts) and why.
    firmwareRoad: [`${p.firmwareRoad.kind} (${p.firmwareRoad.image}): ${p.firmwareRoad.why}`],
    firmware: p.firmware.entries.map((e, i) => `${e.start.toString(16)}-${e.end.toString(16)}: ${p.firmware.provenance[i] ?? '?'}`),
    // Which way the kernel sized memory (reference/linux/boot-memory.ts) and why.
    memoryPath: [`${m.path} (${m.who}): ${m.why}`, ...(m.lost !== undefined ? [m.lost] : [])],
    warnings: [...p.warnings],
    unpredicted: [...p.unpredicted],
  };
}

/** The JSON object `predict --json` prints for a prediction (and `predict --batch` per line). */
export function predictionJson(p: Prediction, host: HostFactsReport | null): Record<string, unknown> {
  const hostJson = host !== null ? { host: { ...host.facts, sources: host.sources } } : {};
  return { ...p.report, toolchain: p.toolchain, ...hostJson, explain: explanation(p) };
}

