// Remembered apt resolutions: which package (and version) a lookup in an apt root gave, kept in
// the cache (`resolved/<key>.json`) so that a warm command finds its cached entry without
// asking apt again (apt-cache takes 0.1–0.5 s a query; a warm `e820 check` made four). A
// resolution is used only together with the entry it names, and only while that entry verifies
// (verify.ts usableEntry): a cold or damaged cache goes the whole way through apt, which then
// records the resolution again. The archive moving on is noticed when the user asks (`e820
// toolchain fetch`, `--refresh`: ProvisionFreshness.fresh) or the cache is cold, as Debian
// package versions are only resolved at those times.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publishFile } from './cache.ts';
import { MIRROR_ENV } from './apt-env.ts';

export interface ProvisionFreshness {
  /** Ask apt even when a resolution is remembered (toolchain fetch, --refresh). */
  fresh?: boolean;
}

interface Record<T> {
  schema: 1;
  /** The archive override in force when it was resolved: another one resolves again. */
  mirror: string | null;
  value: T;
}

const fileOf = (cache: string, key: string) => join(cache, 'resolved', `${key.replace(/[^A-Za-z0-9.+~_-]/g, '_')}.json`);
const mirror = () => process.env[MIRROR_ENV] ?? null;

/** The remembered resolution of `key`, or null (none, unreadable, other archive, not valid). */
export async function recalled<T>(cache: string, key: string, isValid: (v: unknown) => v is T): Promise<T | null> {
  try {
    const r = JSON.parse(await readFile(fileOf(cache, key), 'utf8')) as Partial<Record<T>>;
    return r.schema === 1 && r.mirror === mirror() && isValid(r.value) ? r.value : null;
  } catch {
    return null;
  }
}

/** Records what apt resolved `key` to (atomically: a reader sees the old record or the new). */
export async function remember<T>(cache: string, key: string, value: T): Promise<void> {
  const r: Record<T> = { schema: 1, mirror: mirror(), value };
  await publishFile(fileOf(cache, key), `${JSON.stringify(r, null, 2)}\n`);
}

export const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
