// Debian source packages and the host tools to build them: what the project's own builds
// (firmware-build.ts: SeaBIOS; kernel-build.ts: the minimal guest kernel) share.
//
// The source comes through the suite's apt root with a deb-src entry (apt-env.ts
// privateSourceApt; the host's suite gets a private root too, the host's apt is never changed):
// `apt-get source --download-only` checks the .dsc and tarballs against the Sources index, whose
// hash is in the Release file signed by Debian's archive keyring, and `dpkg-source -x` checks the
// tarballs against the .dsc (and its inline signature when a Debian keyring is installed).

import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { ensureAptLists, privateSourceApt, type AptContext, type DebianSuite, type PrivateAptPaths } from './apt-env.ts';
import { retryWhileAptLocked } from './apt-lock.ts';
import { AptError, HostToolsMissingError, ProvisionError } from './errors.ts';
import { aptInstall, aptInstallCommand } from './host-tools.ts';
import { cacheLockPath, withLock } from './lock.ts';
import type { Host } from '../host/types.ts';

/** A host tool a build runs (found on PATH) or a file it needs (a header), and the Debian package providing it. */
export type BuildTool = { tool: string; pkg: string } | { file: string; pkg: string };

const describeTool = (t: BuildTool) => ('tool' in t ? `${t.tool} (not on PATH)` : `${t.file} (missing)`);

/** Installs (as root) the packages of the tools that are missing; names them otherwise. */
export async function ensureBuildTools(tools: readonly BuildTool[], sys: Host, progress: (m: string) => void, purpose: string, signal?: AbortSignal): Promise<void> {
  const missing = async () => {
    const m: BuildTool[] = [];
    for (const t of tools) if ('tool' in t ? (await sys.which(t.tool)) === null : !(await sys.exists(t.file))) m.push(t);
    return m;
  };
  let absent = await missing();
  if (absent.length === 0) return;
  const pkgs = [...new Set(absent.map((t) => t.pkg))];
  if (!(await sys.isRoot())) throw new HostToolsMissingError(absent.map(describeTool), pkgs, aptInstallCommand(pkgs), `${purpose} needs them; not running as root, so they cannot be installed automatically.`);
  await aptInstall(pkgs, sys, progress, signal);
  absent = await missing();
  if (absent.length > 0) throw new HostToolsMissingError(absent.map(describeTool), pkgs, aptInstallCommand(pkgs), 'They are still missing after installing.');
}

/** Source versions apt knows for `pkg` (apt-cache showsrc output), in the order apt lists them. */
export function parseShowsrcVersions(text: string, pkg: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const p = /^Package:\s*(\S+)/.exec(line);
    if (p) current = p[1]!;
    const v = /^Version:\s*(\S+)/.exec(line);
    if (v && current === pkg && !out.includes(v[1]!)) out.push(v[1]!);
  }
  return out;
}

export type SourceApt = AptContext & { paths: PrivateAptPaths; uri: string };

interface LockOpts {
  cache: string;
  sys: Host;
  progress: (m: string) => void;
  signal?: AbortSignal | undefined;
}

const lockOptions = (o: LockOpts, purpose: string) => ({ purpose, onProgress: o.progress, ...(o.signal ? { signal: o.signal } : {}) });

/**
 * The suite's source root and the versions of `pkg` it offers (its lists are shared with toolchain
 * provisioning). `refresh` runs apt-get update first: lists older than the archive name files it
 * no longer has (404 on download, see isGoneFromArchive).
 */
export async function sourceVersions(pkg: string, suite: DebianSuite, o: LockOpts, refresh = false): Promise<{ ctx: SourceApt; versions: string[] }> {
  return withLock(cacheLockPath(o.cache, `apt-${suite}`), lockOptions(o, `${pkg} source ${suite}`), async () => {
    const ctx = await privateSourceApt(suite, o.sys, o.progress, { cacheDir: o.cache, ...(o.signal ? { signal: o.signal } : {}) });
    if (refresh) await ensureAptLists(ctx, o.sys, o.progress, true, o.signal);
    const r = await o.sys.exec(['apt-cache', ...ctx.options, 'showsrc', '--only-source', pkg]);
    if (r.exitCode !== 0) throw new AptError(`apt-cache showsrc ${pkg} (${suite})`, r.exitCode, r.stderr, 'the source index could not be read');
    return { ctx, versions: parseShowsrcVersions(r.stdout, pkg) };
  });
}

/**
 * Downloads `pkg=version` into `work`/dl and unpacks it (Debian's patches applied) into `tree`;
 * the downloads are removed afterwards. Returns the tree.
 */
export async function fetchSourceTree(pkg: string, version: string, suite: DebianSuite, ctx: SourceApt, work: string, tree: string, o: LockOpts): Promise<string> {
  const dl = join(work, 'dl');
  await mkdir(dl, { recursive: true });
  o.progress(`downloading Debian ${pkg} source ${version} (${suite})`);
  const signal = o.signal ? { signal: o.signal } : {};
  const got = await withLock(cacheLockPath(o.cache, `apt-${suite}`), lockOptions(o, `${pkg} source ${suite}`), () =>
    retryWhileAptLocked(`apt-get source ${pkg}`, () => o.sys.exec(['apt-get', ...ctx.options, 'source', '--download-only', `${pkg}=${version}`], { cwd: dl }), o.progress, signal),
  );
  if (got.exitCode !== 0) throw new AptError(`apt-get source --download-only ${pkg}=${version} (${suite})`, got.exitCode, got.stderr, `downloading the ${pkg} source failed`);
  const dscs = (await readdir(dl)).filter((f) => f.endsWith('.dsc'));
  if (dscs.length !== 1) throw new ProvisionError(`apt-get source left ${dscs.length} .dsc files in ${dl}, expected one`);
  o.progress(`unpacking ${dscs[0]} (dpkg-source -x: checksums, Debian's patches)`);
  // --no-copy: dpkg-source otherwise copies the upstream tarball next to the tree, i.e. into
  // the cache entry being filled (138 MB for linux).
  const x = await o.sys.exec(['dpkg-source', '--no-copy', '-x', dscs[0]!, tree], { cwd: dl, ...signal });
  if (x.exitCode !== 0) throw new AptError(`dpkg-source -x ${dscs[0]}`, x.exitCode, x.stderr || x.stdout, `unpacking the ${pkg} source failed (its checksums or signature)`);
  await rm(dl, { recursive: true, force: true });
  return tree;
}

/** The download failed because the archive no longer has that version (the lists are older than it). */
export function isGoneFromArchive(err: unknown): boolean {
  return err instanceof AptError && /\b404\b/.test(err.message);
}
