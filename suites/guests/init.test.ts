import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { findOrInstallHostTools } from '../../harness/provision/host-tools.ts';
import { FW_CFG_E820_PATH, GUEST_PATHS, INIT_APPLETS, initScript } from '../../guests/init.ts';
import { beginMarker, DONE_MARKER, endMarkerPrefix, SECTIONS, UNAVAILABLE_PREFIX } from '../../guests/markers.ts';

const withModule = initScript({ hasFwCfgModule: true });
const withoutModule = initScript({ hasFwCfgModule: false });
const lines = (s: string) => s.split('\n');
const indexOfLine = (s: string, re: RegExp) => lines(s).findIndex((l) => re.test(l));

// Shell words that are not applets: builtins, keywords, and the script's own functions.
const NOT_APPLETS = new Set([
  'export', 'exec', 'if', 'then', 'else', 'elif', 'fi', 'for', 'in', 'do', 'done', 'while', 'return',
  'echo', 'read', 'IFS=', 'section', ':', '[', '{', '}', 'rc=$?', 'n', 'd', 'fwcfg_reason', 'rc',
]);

describe('initScript', () => {
  it('starts with a shebang and is valid busybox sh syntax', async () => {
    expect(withModule.startsWith('#!/bin/sh\n')).toBe(true);
    // The guest's shell is the host's static busybox; provisioning installs it where it is missing.
    const { busybox } = await findOrInstallHostTools();
    for (const s of [withModule, withoutModule]) execFileSync(busybox, ['sh', '-n'], { input: s });
  }, 10 * 60_000); // a fresh machine installs the host packages first

  it('mounts proc, sysfs and devtmpfs, and quiets the console before anything can log', () => {
    const quiet = indexOfLine(withModule, /^dmesg -n 1$/);
    expect(quiet).toBeGreaterThan(0);
    for (const fs of ['proc proc /proc', 'sysfs sysfs /sys', 'devtmpfs devtmpfs /dev']) {
      const i = indexOfLine(withModule, new RegExp(`^mount -t ${fs}$`));
      expect(i).toBeGreaterThan(0);
      expect(i).toBeLessThan(quiet);
    }
    expect(indexOfLine(withModule, /insmod/)).toBeGreaterThan(quiet);
    expect(withModule).toMatch(/^exec <\/dev\/console >\/dev\/console 2>&1$/m);
  });

  it('prints every section, in the order of markers.ts, framed by its markers', () => {
    let last = -1;
    for (const s of SECTIONS) {
      const call = indexOfLine(withModule, new RegExp(`^section \\S+ '${beginMarker(s)}' '${endMarkerPrefix(s)}'$`));
      expect(call, s).toBeGreaterThan(last);
      last = call;
    }
    expect(indexOfLine(withModule, new RegExp(`^echo "${DONE_MARKER}"$`))).toBeGreaterThan(last);
    // The END marker carries the body's own exit status.
    expect(withModule).toMatch(/"\$1" >\/tmp\/section\.out 2>&1\n\s+rc=\$\?/);
  });

  it('reads each source the way markers.ts documents', () => {
    expect(withModule).toMatch(/^\s+uname -r$/m);
    expect(withModule).toMatch(/^\s+cat \/proc\/cmdline$/m);
    expect(withModule).toMatch(/^\s+dmesg -r$/m);
    expect(withModule).toMatch(/^\s+cat \/proc\/iomem$/m);
    expect(withModule).toMatch(/ls \/sys\/firmware\/memmap \| sort -n/);
    expect(withModule).toMatch(/echo "\$n \$s \$e \$t"/);
    expect(withModule).toContain(`od -An -v -tx1 ${FW_CFG_E820_PATH}`);
    expect(withModule).toContain(`echo "${UNAVAILABLE_PREFIX}$fwcfg_reason"`);
  });

  it('loads the module only when the initramfs has it, and says why fw_cfg is unavailable', () => {
    expect(withModule).toContain(`insmod ${GUEST_PATHS.fwCfgModule}`);
    expect(withModule).toMatch(/no ACPI QEMU0002 node/);
    expect(withoutModule).not.toContain('insmod');
    // Without a module the built-in driver (the minimal kernel's) is looked for, then the reason is given.
    expect(withoutModule).toContain('[ -d /sys/firmware/qemu_fw_cfg/by_name ]');
    expect(withoutModule).toMatch(/built in but found no fw_cfg device/);
    expect(withoutModule).toContain('fwcfg_reason="the initramfs carries no qemu_fw_cfg module and the kernel has none built in"');
  });

  it('drains the console and powers off last', () => {
    const l = lines(withModule.trimEnd());
    expect(l.at(-1)).toBe('poweroff -f');
    expect(l.at(-2)).toMatch(/^stty -F \/dev\/console /);
  });

  it('runs only applets the initramfs links', () => {
    const used = new Set<string>();
    for (const raw of lines(withModule)) {
      const line = raw.replace(/#.*$/, '').trim();
      if (line === '' || /^\w+\(\) \{$/.test(line)) continue;
      // Command positions: line start, after | && || ; $( and after if/then/else/do.
      for (const seg of line.split(/\|\||&&|\||;|\$\(|\{/)) {
        const words = seg.trim().replace(/^(if|then|else|do|while|!)\s+/, '').split(/\s+/);
        const w = words[0];
        if (!w || NOT_APPLETS.has(w) || w.startsWith('"') || w.startsWith("'") || /^\w+=/.test(w) || w.startsWith('sec_')) continue;
        if (/^[a-z][a-z0-9]*$/.test(w)) used.add(w);
      }
    }
    const linked = new Set<string>(INIT_APPLETS);
    expect([...used].filter((w) => !linked.has(w))).toEqual([]);
  });
});
