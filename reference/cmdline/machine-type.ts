// Machine type names: which the model reads, and the QOM type name QEMU prints in its errors.

import type { MachineFamily, MachineType } from '../config.ts';
import type { QemuVersion } from '../toolchain.ts';

export const UNMODELLED_MACHINES = /^(none|xenfv(-.*)?|xenpv|x-remote|nitro-enclave)$/;

/** Reads a `-machine type=` value; null when QEMU has no such machine in any version. */
export function parseMachineType(name: string): MachineType | null {
  const plain: Record<string, MachineFamily> = { pc: 'pc', q35: 'q35', isapc: 'isapc', microvm: 'microvm' };
  const family = plain[name];
  if (family !== undefined) return { family, version: null, name };
  let m = /^pc-i440fx-([0-9]+\.[0-9]+)$/.exec(name);
  if (m?.[1] !== undefined) return { family: 'pc', version: m[1], name };
  m = /^pc-q35-([0-9]+\.[0-9]+(?:\.[0-9]+)?)$/.exec(name);
  if (m?.[1] !== undefined) return { family: 'q35', version: m[1], name };
  m = /^pc-(1\.[0-3])$/.exec(name);
  if (m?.[1] !== undefined) return { family: 'pc', version: m[1], name };
  return null;
}

/** The QOM type name QEMU uses in "Property '<type>.<prop>' not found". */
export function machineQomType(t: MachineType, qemu: QemuVersion): string {
  if (t.version === null && t.family === 'pc') return `pc-i440fx-${qemu}-machine`;
  if (t.version === null && t.family === 'q35') return `pc-q35-${qemu}-machine`;
  return `${t.name}-machine`;
}
