// What verifying cache entries costs on use (harness/provision/verify.ts): per entry of a cache, the
// median wall time of verifyFiles over a few warm runs, the files sized and the bytes hashed.
// Read-only: entries cached before records existed get their records computed in memory.
//   TSX_DISABLE_CACHE=1 node --import tsx ci/verify-cost.ts [cacheDir] [--runs N]

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { cacheDir as defaultCacheDir } from '../harness/provision/cache.ts';
import { qemuHashed } from '../harness/provision/suite-qemu.ts';
import { localHost } from '../harness/host/local.ts';
import { recordFiles, verifyFiles, type EntryRecords } from '../harness/provision/verify.ts';

const argv = process.argv.slice(2);
const runsAt = argv.indexOf('--runs');
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 7;
const cache = argv.find((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1)) ?? defaultCacheDir();

const list = async (d: string) => (await readdir(d).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();

async function recordsOf(kind: string, dir: string): Promise<EntryRecords | null> {
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8').catch(() => 'null')) as Record<string, unknown> | null;
  if (m === null) return null;
  if (m.verify) return m.verify as EntryRecords;
  const hashed =
    kind === 'kernels'
      ? [m.vmlinuz as string, ...(m.fwCfgModule ? [m.fwCfgModule as string] : [])]
      : kind === 'seabios'
        ? (m.images as string[])
        : await qemuHashed(dir, m as { root: string; loader: string; libraryPath: string[] }, localHost);
  return recordFiles(dir, hashed);
}

async function time(dir: string, rec: EntryRecords): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const d = await verifyFiles(dir, rec);
    ms.push(performance.now() - t);
    if (d) throw new Error(`${dir}: ${d.file} ${d.reason}`);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
}

let total = 0;
for (const kind of ['qemu', 'seabios', 'kernels']) {
  for (const n of await list(join(cache, kind))) {
    const dir = join(cache, kind, n);
    const rec = await recordsOf(kind, dir);
    if (rec === null) continue;
    const hashedBytes = rec.hashed.reduce((s, f) => s + (rec.files[f]?.size ?? 0), 0);
    const ms = await time(dir, rec);
    const sizesOnly = await time(dir, { ...rec, hashed: [] });
    total += ms;
    console.log(
      `${kind}/${n}: ${Object.keys(rec.files).length} files sized, ${rec.hashed.length} hashed (${(hashedBytes / 2 ** 20).toFixed(1)} MiB): ${ms.toFixed(1)} ms (sizes alone ${sizesOnly.toFixed(1)} ms)`,
    );
  }
}
for (const n of (await list(join(cache, 'initramfs'))).filter((f) => f.endsWith('.cpio'))) {
  const dir = join(cache, 'initramfs');
  const full = await recordFiles(dir, [n]);
  const ms = await time(dir, { files: { [n]: full.files[n]! }, hashed: [n] });
  total += ms;
  console.log(`initramfs/${n}: ${ms.toFixed(1)} ms`);
}
console.log(`median per run, ${runs} warm runs each; sum over every entry: ${total.toFixed(1)} ms`);
