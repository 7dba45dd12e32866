// `e820 host check [ssh://user@host[:port]] [--known-hosts FILE | --host-key SHA256:…] [--identity FILE]
//   [--profile-kernel V] [--json]`
// The kernel layer of a real machine (this one without a URL): predicted from the firmware map
// the kernel kept, its command line and version, and compared with what it printed and
// published (harness/host/check.ts). Exit: 0 every field agrees, 1 a field differs, 2 error.

import type { Command } from 'commander';
import { printable } from '../../errors.ts';
import { checkHost, readHostFacts, type HostCheck } from '../../host/check.ts';
import { hostOf, SSH_FLAG_HELP, type SshFlags } from '../../host/connect.ts';
import { formatVerdict } from '../../matrix/compare.ts';
import { exitCodeOf } from '../../matrix/verdict.ts';

export interface HostCheckOptions extends SshFlags {
  profileKernel?: string;
  json?: boolean;
}

export function formatHostCheck(c: HostCheck): string {
  const f = c.facts;
  const lines = [
    `host: ${f.host}`,
    `kernel: ${f.release} — ${c.profile.text}`,
    `command line: ${f.cmdline}`,
    `firmware map (/sys/firmware/memmap): ${f.memmap === null ? 'unavailable' : `${f.memmap.length} entries`}`,
    `cpu: ${f.cpu.vendor}, ${f.cpu.physBits} physical address bits${f.cpu.la57 ? ', LA57' : ''}; ECAM (MCFG): ${f.mmconfig === null ? 'none' : `0x${f.mmconfig.start.toString(16)}-0x${f.mmconfig.end.toString(16)}`}`,
    `kernel configuration: ${f.config.source ?? 'not found'}${f.config.hibernation !== null ? `, CONFIG_HIBERNATION ${f.config.hibernation ? 'y' : 'off'}` : ''}`,
    '',
    'per field (kernel layer):',
  ];
  for (const r of (c.verdict.fields ?? []).filter((x) => x.layer === 'kernel')) {
    const n = r.status === 'match' || r.status === 'differ' ? ` (${r.compared} compared${r.excludedByRule > 0 ? `, ${r.excludedByRule} excluded by rule` : ''})` : '';
    lines.push(`  ${r.field}: ${r.status === 'match' ? 'agrees' : r.status === 'differ' ? 'DIFFERS' : r.status}${n}${r.reason !== undefined && r.status !== 'match' ? ` — ${r.reason}` : ''}`);
  }
  lines.push('', formatVerdict(c.verdict));
  const later = (c.verdict.fields ?? []).filter((x) => x.status === 'differ' && c.verdict.outcome === 'fail' && x.field !== c.verdict.first.field);
  for (const r of later) lines.push('', `${r.summary ?? r.field}`, r.diff ?? '');
  if (c.caveats.length > 0) lines.push('', 'notes:', ...c.caveats.map((x) => `  - ${x}`));
  return printable(lines.join('\n'));
}

export async function hostCheckCommand(url: string | undefined, opts: HostCheckOptions): Promise<number> {
  const host = await hostOf(url, opts);
  try {
    const facts = await readHostFacts(host);
    const result = checkHost(facts, opts.profileKernel !== undefined ? { profileKernel: opts.profileKernel } : {});
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ ...result, facts: { ...result.facts, dmesg: undefined, iomem: undefined, mmconfig: result.facts.mmconfig && { start: `0x${result.facts.mmconfig.start.toString(16)}`, end: `0x${result.facts.mmconfig.end.toString(16)}` } } }, null, 2)}\n`
        : `${formatHostCheck(result)}\n`,
    );
    return exitCodeOf([result.verdict.outcome]);
  } finally {
    await host.close();
  }
}

export function register(program: Command): void {
  const host = program.command('host').description('real machines: e820 host check [ssh://user@host[:port]]');
  host
    .command('check')
    .description("predict a real machine's kernel E820 view from its firmware map, command line and kernel version, and compare (this machine without a URL)")
    .argument('[url]', 'ssh://user@host[:port] (default: this machine)')
    .option(...SSH_FLAG_HELP.knownHosts)
    .option(...SSH_FLAG_HELP.hostKey)
    .option(...SSH_FLAG_HELP.identity)
    .option('--profile-kernel <V>', 'predict with this kernel profile instead of the nearest one')
    .option('--json', 'print facts, prediction and verdict as JSON')
    .action(async (url: string | undefined, opts: HostCheckOptions) => {
      try {
        process.exitCode = await hostCheckCommand(url, opts);
      } catch (e) {
        process.stderr.write(`e820 host check: ${printable((e as Error).message)}\n`);
        process.exitCode = 2;
      }
    });
}
