// Apt for Debian suites other than the host's: a private apt root per suite in the cache
// (its own sources list, lists, package cache and an empty dpkg status), driven with
// `apt-get -o Dir::…` so the host's apt configuration and state are never touched.
//
// The archive's address is the machine's own (the apt entry serving the host suite's main),
// or $E820_APT_MIRROR; no host name is written here. The host's apt.conf.d is still read
// (proxy, Check-Valid-Until and similar settings the machine needs to reach its archive);
// only the Dir::* paths, the sources and the pinning are replaced.

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { retryWhileAptLocked } from './apt-lock.ts';
import { cacheDir as defaultCacheDir } from './cache.ts';
import { AptError, ProvisionError } from './errors.ts';
import { localHost } from '../host/local.ts';
import type { ExecResult, Host } from '../host/types.ts';

export const DEBIAN_SUITES = ['bullseye', 'bookworm', 'trixie', 'sid'] as const;
export type DebianSuite = (typeof DEBIAN_SUITES)[number];
/** The suite this machine runs: its own apt serves it, no private root. */
export const HOST_SUITE: DebianSuite = 'bookworm';

export const MIRROR_ENV = 'E820_APT_MIRROR';
/** Debian's keyring covers bullseye, bookworm and trixie keys; sid is signed with the trixie-era keys. */
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface AptSourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** Signed-By / [signed-by=…], if given. */
  signedBy: string | null;
}

/** Entries of a deb822 `.sources` file (`Enabled: no` stanzas dropped). */
export function parseDeb822Sources(text: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | null = null;
    for (const raw of stanza.split('\n')) {
      if (/^\s*#/.test(raw) || raw.trim() === '') continue;
      const cont = /^\s+(.*)$/.exec(raw);
      if (cont && last !== null) {
        fields.set(last, `${fields.get(last) ?? ''} ${cont[1]}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!);
    }
    if (fields.size === 0 || /^(no|false)$/i.test(fields.get('enabled')?.trim() ?? '')) continue;
    const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    out.push({ types: words('types'), uris: words('uris'), suites: words('suites'), components: words('components'), signedBy: fields.get('signed-by')?.trim() || null });
  }
  return out;
}

/** Entries of a one-line-style `sources.list` (`deb [opts] uri suite comp…`). */
export function parseOneLineSources(text: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signed = /(?:^|\s)signed-by=(\S+)/.exec(m[2] ?? '');
    out.push({ types: [m[1]!], uris: [m[3]!], suites: [m[4]!], components: (m[5] ?? '').split(/\s+/).filter(Boolean), signedBy: signed?.[1] ?? null });
  }
  return out;
}

/** The host's apt entries: sources.list, sources.list.d/*.list and *.sources. */
export function readHostAptSources(etcApt = '/etc/apt'): AptSourceEntry[] {
  const out: AptSourceEntry[] = [];
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  out.push(...parseOneLineSources(read(join(etcApt, 'sources.list'))));
  let names: string[] = [];
  try {
    names = readdirSync(join(etcApt, 'sources.list.d')).sort();
  } catch {
    // no parts dir
  }
  for (const n of names) {
    if (n.endsWith('.sources')) out.push(...parseDeb822Sources(read(join(etcApt, 'sources.list.d', n))));
    else if (n.endsWith('.list')) out.push(...parseOneLineSources(read(join(etcApt, 'sources.list.d', n))));
  }
  return out;
}

const servesMain = (e: AptSourceEntry) => e.types.includes('deb') && e.components.includes('main');
/** A plain release suite (not -security/-updates/-backports, not the old "suite/updates"). */
const plainSuite = (s: string) => /^[a-z]+$/.test(s);

/**
 * An archive URI as apt may be given it: http, https or file, and nothing that could end the
 * `deb …` line or start another (whitespace, control characters, brackets). The URI ends up in a
 * sources.list that root's apt reads, so one newline would be a second, attacker-chosen source.
 */
export function validArchiveUri(uri: string, origin: string): string {
  const bad = /[\s\u0000-\u001f\u007f\[\]"'#]/u.exec(uri);
  if (bad) throw new ProvisionError(`${origin}: ${JSON.stringify(uri)} is not an archive URI (it contains ${JSON.stringify(bad[0])}); give one http://, https:// or file:// URI`);
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new ProvisionError(`${origin}: ${JSON.stringify(uri)} is not a URI; give one http://, https:// or file:// URI`);
  }
  if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) {
    throw new ProvisionError(`${origin}: ${JSON.stringify(uri)} uses ${parsed.protocol}; give one http://, https:// or file:// URI`);
  }
  return uri.replace(/\/+$/, '');
}

/**
 * The Debian archive URI: $E820_APT_MIRROR, else the host's entry serving `<hostSuite> main`,
 * else any entry serving a plain suite's main. Null when none is found. Either is validated
 * (validArchiveUri) before it can reach a sources list.
 */
export function debianArchiveUri(entries: readonly AptSourceEntry[], env: NodeJS.ProcessEnv = process.env, hostSuite: string = HOST_SUITE): string | null {
  const override = env[MIRROR_ENV];
  if (override !== undefined && override.trim() !== '') return validArchiveUri(override.trim(), MIRROR_ENV);
  const pick = (ok: (e: AptSourceEntry) => boolean) => entries.find((e) => servesMain(e) && e.uris.length > 0 && ok(e))?.uris[0] ?? null;
  const uri = pick((e) => e.suites.includes(hostSuite)) ?? pick((e) => e.suites.some(plainSuite) && !e.uris.some((u) => /security/.test(u)));
  return uri === null ? null : validArchiveUri(uri, "this machine's apt sources");
}

/** The sources.list of a private root: the suite's main, signed by Debian's keyring (never `trusted=yes`). */
export function privateSourcesList(uri: string, suite: DebianSuite, keyring: string): string {
  return `# written by e820-conformance: ${suite} main only, for provisioning\ndeb [arch=amd64 signed-by=${keyring}] ${validArchiveUri(uri, 'archive URI')} ${suite} main\n`;
}

/**
 * The source index of a private root (`deb-src`, the suite's main), signed by the same keyring;
 * written as its own sources.list.d part (SOURCE_INDEX_PART) by whatever needs source packages
 * (harness/provision/firmware-build.ts), so toolchain-only roots never fetch Sources.
 */
export function privateSourceIndexList(uri: string, suite: DebianSuite, keyring: string): string {
  return `# written by e820-conformance: ${suite} main source packages, for building SeaBIOS\ndeb-src [signed-by=${keyring}] ${validArchiveUri(uri, 'archive URI')} ${suite} main\n`;
}
export const SOURCE_INDEX_PART = 'e820-deb-src.list';

/**
 * The keyring the private roots are signed with. Signature checks are never turned off: without
 * Debian's keyring, provisioning from another suite stops and says how to get it.
 */
export function requireKeyring(keyring: string = DEBIAN_KEYRING): string {
  if (!existsSync(keyring)) {
    throw new ProvisionError(
      `Debian's archive keyring ${keyring} is missing, so packages of other Debian suites cannot be verified. ` +
        'Install it as root (apt-get install debian-archive-keyring); e820 never provisions from an unsigned source.',
    );
  }
  return keyring;
}

/** How provisioning talks to apt for one suite: the options to put before the subcommand, and how to refresh. */
export interface AptContext {
  /** null: the host's own apt. */
  suite: DebianSuite | null;
  /** `-o …` options placed before the apt-get/apt-cache subcommand ([] for the host). */
  options: readonly string[];
  /** Whether update() may run (the host's needs root; a private root is ours). */
  canUpdate(sys: Host): Promise<boolean>;
  update(sys: Host, progress: (m: string) => void): Promise<ExecResult>;
  /** Human name for messages. */
  label: string;
}

const NONINTERACTIVE = { DEBIAN_FRONTEND: 'noninteractive' };

export const hostApt: AptContext = {
  suite: null,
  options: [],
  canUpdate: (sys) => sys.isRoot(),
  update: (sys, progress) => sys.exec(['apt-get', 'update'], { env: NONINTERACTIVE, onLine: (l) => progress(`apt: ${l}`) }),
  label: "the host's apt",
};

export interface PrivateAptPaths {
  root: string;
  sourcesList: string;
  sourceParts: string;
  preferencesParts: string;
  lists: string;
  archives: string;
  status: string;
  pkgcache: string;
}

export function privateAptPaths(suite: DebianSuite, cache: string): PrivateAptPaths {
  const root = join(cache, 'apt', suite);
  return {
    root,
    sourcesList: join(root, 'sources.list'),
    sourceParts: join(root, 'sources.list.d'),
    preferencesParts: join(root, 'preferences.d'),
    lists: join(root, 'lists'),
    archives: join(root, 'archives'),
    status: join(root, 'dpkg', 'status'),
    pkgcache: join(root, 'pkgcache.bin'),
  };
}

/** The `-o` options that point apt at a private root (exported for tests and for the report). */
export function privateAptOptions(p: PrivateAptPaths, root: boolean): string[] {
  const o = (k: string, v: string) => ['-o', `${k}=${v}`];
  return [
    ...o('Dir::State', p.root),
    ...o('Dir::State::Lists', p.lists),
    // Empty status: every dependency counts as missing, so --download-only fetches the whole closure.
    ...o('Dir::State::status', p.status),
    ...o('Dir::Cache', p.root),
    ...o('Dir::Cache::archives', p.archives),
    // A binary cache makes repeated apt-cache queries (warm runs) fast.
    ...o('Dir::Cache::pkgcache', p.pkgcache),
    ...o('Dir::Cache::srcpkgcache', ''),
    ...o('Dir::Etc::sourcelist', p.sourcesList),
    ...o('Dir::Etc::sourceparts', p.sourceParts),
    ...o('Dir::Etc::preferences', join(p.root, 'preferences')),
    ...o('Dir::Etc::preferencesparts', p.preferencesParts),
    ...o('APT::Architecture', 'amd64'),
    ...o('APT::Architectures', 'amd64'),
    ...o('Acquire::Languages', 'none'),
    ...o('APT::Install-Recommends', 'false'),
    // As root apt downloads as _apt, which cannot write into root's cache dir.
    ...(root ? o('APT::Sandbox::User', 'root') : []),
  ];
}

export interface PrivateAptOptions {
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Host apt entries (default: read /etc/apt). */
  hostSources?: readonly AptSourceEntry[];
  /** Keyring the suite's Release files must be signed with (default: Debian's; it must exist). */
  keyring?: string;
  /** The machine to provision (default: this one). */
  host?: Host;
  /** Stops provisioning when it fires: no program starts after it and the running one is killed; lock waits stop too. */
  signal?: AbortSignal;
}

/** True when the private root has package lists (then no network is needed to resolve). */
export async function hasLists(p: PrivateAptPaths): Promise<boolean> {
  try {
    return (await readdir(p.lists)).some((f) => f.endsWith('_Packages') || f.includes('_Packages.'));
  } catch {
    return false;
  }
}

/** True when the private root has a source index (Sources lists). */
export async function hasSourceLists(p: PrivateAptPaths): Promise<boolean> {
  try {
    return (await readdir(p.lists)).some((f) => /_Sources(?:$|\.)/.test(f));
  } catch {
    return false;
  }
}

/**
 * The private root of `suite` with its source index (deb-src) added and fetched: `apt-get source`
 * then resolves and downloads source packages through the suite's signed Release file, as for
 * binaries. Used for the host's suite too (the host's apt usually has no deb-src; its
 * configuration is never changed).
 */
export async function privateSourceApt(
  suite: DebianSuite,
  sys: Host,
  progress: (m: string) => void,
  opts: PrivateAptOptions = {},
): Promise<AptContext & { paths: PrivateAptPaths; uri: string }> {
  const ctx = await privateApt(suite, { ...opts, host: sys });
  const part = join(ctx.paths.sourceParts, SOURCE_INDEX_PART);
  const text = privateSourceIndexList(ctx.uri, suite, requireKeyring(opts.keyring));
  const changed = (await readFile(part, 'utf8').catch(() => '')) !== text;
  if (changed) await writeFile(part, text);
  await ensureAptLists(ctx, sys, progress, changed || !(await hasSourceLists(ctx.paths)), opts.signal);
  if (!(await hasSourceLists(ctx.paths))) throw new ProvisionError(`apt-get update for ${suite} left no source index (Sources) in ${ctx.paths.lists}: check that the archive serves deb-src for ${suite} main`);
  return ctx;
}

/** Creates (idempotently) the private apt root of `suite` and returns its context. Does not update. */
export async function privateApt(suite: DebianSuite, opts: PrivateAptOptions = {}): Promise<AptContext & { paths: PrivateAptPaths; uri: string }> {
  const sys = opts.host ?? localHost;
  const entries = opts.hostSources ?? readHostAptSources();
  const uri = debianArchiveUri(entries, opts.env ?? process.env);
  if (uri === null) {
    throw new ProvisionError(
      `no Debian archive found in this machine's apt sources (/etc/apt/sources.list, sources.list.d): set ${MIRROR_ENV} to the archive's URI (the one that serves ${HOST_SUITE} main)`,
    );
  }
  const keyring = requireKeyring(opts.keyring);
  const paths = privateAptPaths(suite, opts.cacheDir ?? defaultCacheDir());
  for (const d of [paths.sourceParts, paths.preferencesParts, join(paths.lists, 'partial'), join(paths.archives, 'partial'), join(paths.root, 'dpkg')]) {
    await mkdir(d, { recursive: true });
  }
  if (!existsSync(paths.status)) await writeFile(paths.status, '');
  // Written only when it changes (a changed mirror or keyring): a new mtime makes apt rebuild its cache.
  const sources = privateSourcesList(uri, suite, keyring);
  if ((await readFile(paths.sourcesList, 'utf8').catch(() => '')) !== sources) await writeFile(paths.sourcesList, sources);
  const options = privateAptOptions(paths, await sys.isRoot());
  return {
    suite,
    options,
    paths,
    uri,
    label: `the private apt root of ${suite} (${paths.root})`,
    canUpdate: () => Promise.resolve(true),
    update: (s, progress) => s.exec(['apt-get', ...options, 'update'], { env: NONINTERACTIVE, onLine: (l) => progress(`apt ${suite}: ${l}`) }),
  };
}

/** Makes sure the context has package lists: a private root is updated once (or when `refresh`). */
export async function ensureAptLists(
  ctx: AptContext & { paths?: PrivateAptPaths },
  sys: Host,
  progress: (m: string) => void,
  refresh = false,
  signal?: AbortSignal,
): Promise<void> {
  if (ctx.suite === null || ctx.paths === undefined) return; // the host's lists are the host's business
  if (!refresh && (await hasLists(ctx.paths))) return;
  progress(`apt ${ctx.suite}: updating package lists in ${ctx.paths.root}`);
  // A held lists lock is another apt run, not the mirror: wait for it, or name it (apt-lock.ts).
  const r = await retryWhileAptLocked(`apt-get update (${ctx.suite})`, () => ctx.update(sys, progress), progress, signal ? { signal } : {});
  if (r.exitCode !== 0) throw new AptError(`apt-get update (${ctx.suite})`, r.exitCode, r.stderr, `check ${MIRROR_ENV} or this machine's apt sources`);
  if (!(await hasLists(ctx.paths))) throw new ProvisionError(`apt-get update for ${ctx.suite} succeeded but left no package lists in ${ctx.paths.lists}`);
}
