// `e820 toolchain list` — each component version of each Debian suite: cached or not, the
// package version, the path. `e820 toolchain fetch [--qemu V] [--seabios V] [--kernel V] [--all]`
// provisions them (harness/provision), printing progress and the time each took.

import type { Command } from 'commander';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { KERNEL_VERSIONS, QEMU_VERSIONS, SEABIOS_VERSIONS, toolchainOf, type Toolchain } from '../../../reference/toolchain.ts';
import {
  cacheDir,
  cachedSuiteQemu,
  cachedSuiteSeabios,
  DEBIAN_SUITES,
  findOrInstallHostTools,
  HOST_SUITE,
  provisionKernel,
  provisionSeabios,
  provisionSuiteQemu,
  SUITE_COMPONENTS,
  suiteOf,
  type DebianSuite,
} from '../../provision/index.ts';

interface Row {
  component: string;
  version: string;
  suite: string;
  cached: boolean;
  packageVersion: string;
  path: string;
}

/** Cached kernels by suite, from their manifests (no apt: `list` stays instant and offline). */
async function cachedKernels(cache: string): Promise<Map<string, { packageVersion: string; path: string; release: string }>> {
  const out = new Map<string, { packageVersion: string; path: string; release: string }>();
  let names: string[] = [];
  try {
    names = await readdir(join(cache, 'kernels'));
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    try {
      const m = JSON.parse(await readFile(join(cache, 'kernels', n, 'manifest.json'), 'utf8')) as { release?: string; packageVersion?: string; suite?: string | null };
      if (typeof m.release !== 'string') continue;
      const version = KERNEL_VERSIONS.find((v) => m.release!.startsWith(`${v}.`));
      if (version === undefined) continue;
      out.set(version, { packageVersion: m.packageVersion ?? '?', path: join(cache, 'kernels', n, 'vmlinuz'), release: m.release });
    } catch {
      // no manifest: not cached
    }
  }
  return out;
}

export async function toolchainRows(cache: string = cacheDir()): Promise<Row[]> {
  const rows: Row[] = [];
  const kernels = await cachedKernels(cache);
  for (const suite of DEBIAN_SUITES) {
    const c = SUITE_COMPONENTS[suite];
    if (suite === HOST_SUITE) {
      rows.push({ component: 'qemu', version: c.qemu, suite, cached: true, packageVersion: '(host)', path: 'qemu-system-x86_64 on PATH' });
    } else {
      const q = await cachedSuiteQemu(suite, cache);
      rows.push({ component: 'qemu', version: c.qemu, suite, cached: q !== null, packageVersion: q?.packageVersion ?? '-', path: q?.binary ?? '-' });
    }
    const s = await cachedSuiteSeabios(suite, cache);
    rows.push({ component: 'seabios', version: c.seabios, suite, cached: s !== null, packageVersion: s?.packageVersion ?? '-', path: s?.dir ?? '-' });
    const k = kernels.get(c.kernel);
    rows.push({ component: 'kernel', version: c.kernel, suite, cached: k !== undefined, packageVersion: k ? `${k.packageVersion} (${k.release})` : '-', path: k?.path ?? '-' });
  }
  return rows;
}

function printRows(rows: Row[]): void {
  const head: Row = { component: 'COMPONENT', version: 'VERSION', suite: 'SUITE', cached: true, packageVersion: 'PACKAGE VERSION', path: 'PATH' };
  const cells = (r: Row) => [r.component, r.version, r.suite, r === head ? 'CACHED' : r.cached ? 'yes' : 'no', r.packageVersion, r.path];
  const all = [head, ...rows].map(cells);
  const w = all[0]!.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  for (const c of all) process.stdout.write(`${c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(w[i]!))).join('  ')}\n`);
}

export interface FetchOptions {
  qemu?: string;
  seabios?: string;
  kernel?: string;
  all?: boolean;
  refresh?: boolean;
}

/** What `fetch` provisions: the named versions, or every version with --all. */
export function fetchPlan(o: FetchOptions): { qemu: string[]; seabios: string[]; kernel: string[] } {
  if (o.all) return { qemu: [...QEMU_VERSIONS], seabios: [...SEABIOS_VERSIONS], kernel: [...KERNEL_VERSIONS] };
  if (o.qemu === undefined && o.seabios === undefined && o.kernel === undefined) {
    throw new Error('name what to fetch: --qemu V, --seabios V, --kernel V, or --all');
  }
  // toolchainOf validates the spelling against the known versions.
  const t: Toolchain = toolchainOf({ ...(o.qemu ? { qemu: o.qemu } : {}), ...(o.seabios ? { seabios: o.seabios } : {}), ...(o.kernel ? { kernel: o.kernel } : {}) });
  return { qemu: o.qemu ? [t.qemu] : [], seabios: o.seabios ? [t.seabios] : [], kernel: o.kernel ? [t.kernel] : [] };
}

export async function toolchainFetch(o: FetchOptions, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  let plan;
  try {
    plan = fetchPlan(o);
  } catch (err) {
    process.stderr.write(`e820 toolchain fetch: ${(err as Error).message}\n`);
    return 2;
  }
  const progress = (m: string) => out(`  ${m}`);
  const refresh = o.refresh ?? false;
  const t0 = performance.now();
  let failed = 0;
  const step = async (what: string, f: () => Promise<string>) => {
    const t = performance.now();
    out(`${what} …`);
    try {
      const detail = await f();
      out(`${what}: ${detail} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed++;
      out(`${what}: FAILED (${((performance.now() - t) / 1000).toFixed(1)} s): ${(err as Error).message}`);
    }
  };
  const refreshed = new Set<DebianSuite>();
  const refreshOnce = (s: DebianSuite) => {
    if (!refresh || refreshed.has(s)) return false;
    refreshed.add(s);
    return true;
  };
  // fetch asks apt every time (fresh): the place where a newer package in the archive is taken up.
  for (const v of plan.qemu) {
    const suite = suiteOf('qemu', v);
    await step(`qemu ${v} (${suite})`, async () => {
      if (suite === HOST_SUITE) {
        const h = await findOrInstallHostTools({ onProgress: progress });
        return `host ${h.qemu}, QEMU ${h.qemuVersion}`;
      }
      const q = await provisionSuiteQemu(suite, { onProgress: progress, refresh: refreshOnce(suite), fresh: true });
      return `QEMU ${q.qemuVersion} (${q.packageVersion}, ${q.packages.length} packages) → ${q.binary}`;
    });
  }
  for (const v of plan.seabios) {
    const suite = suiteOf('seabios', v);
    await step(`seabios ${v} (${suite})`, async () => {
      const s = await provisionSeabios(suite, { onProgress: progress, refresh: refreshOnce(suite), fresh: true });
      return `${s.packageVersion} → ${s.dir}`;
    });
  }
  for (const v of plan.kernel) {
    const suite = suiteOf('kernel', v);
    await step(`kernel ${v} (${suite})`, async () => {
      const k = await provisionKernel({}, { onProgress: progress, suite, fresh: true });
      return `${k.packageName} ${k.packageVersion} (${k.release}), fw_cfg module ${k.fwCfgModule ?? 'none'} → ${k.vmlinuz}`;
    });
  }
  out(`${failed ? `${failed} failed` : 'all provisioned'} in ${((performance.now() - t0) / 1000).toFixed(1)} s; cache ${cacheDir()}`);
  return failed ? 1 : 0;
}

/**
 * `e820 toolchain versions SUITE`: the version flags of a suite's toolchain on one line
 * (`--qemu 5.2 --seabios 1.14.0 --kernel 5.10`), from SUITE_COMPONENTS, so scripts
 * (ci/nightly-shard.sh) do not keep a second copy of the table. Exit 2 for an unknown suite.
 */
export function toolchainVersions(suite: string): { code: number; stdout: string; stderr: string } {
  const known = DEBIAN_SUITES.find((s) => s === suite);
  if (known === undefined) return { code: 2, stdout: '', stderr: `e820 toolchain versions: unknown suite ${JSON.stringify(suite)} (${DEBIAN_SUITES.join(', ')})\n` };
  const c = SUITE_COMPONENTS[known];
  return { code: 0, stdout: `--qemu ${c.qemu} --seabios ${c.seabios} --kernel ${c.kernel}\n`, stderr: '' };
}

export function register(program: Command): void {
  const tc = program.command('toolchain').description('QEMU, SeaBIOS and kernel versions from Debian suites (cached)');
  tc.command('versions')
    .description("print a Debian suite's toolchain as version flags (--qemu V --seabios V --kernel V), for scripts")
    .argument('<suite>', DEBIAN_SUITES.join(', '))
    .action((suite: string) => {
      const r = toolchainVersions(suite);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.code;
    });
  tc.command('list')
    .description('each component version: cached or not, package version, path')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const rows = await toolchainRows();
      if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else printRows(rows);
    });
  tc.command('fetch')
    .description('download and unpack components into the cache (idempotent; a second run is instant)')
    .option('--qemu <version>', `QEMU (${QEMU_VERSIONS.join(', ')})`)
    .option('--seabios <version>', `SeaBIOS (${SEABIOS_VERSIONS.join(', ')})`)
    .option('--kernel <version>', `Linux (${KERNEL_VERSIONS.join(', ')})`)
    .option('--all', 'every version of every component')
    .option('--refresh', "update the suites' private package lists first")
    .action(async (o: FetchOptions) => {
      process.exitCode = await toolchainFetch(o);
    });
}
