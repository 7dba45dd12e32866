// Host key verification: OpenSSH's known_hosts file format (sshd(8), "SSH_KNOWN_HOSTS FILE
// FORMAT"; OpenSSH hostfile.c) or a pinned `SHA256:` fingerprint (ssh-keygen -lf's form:
// base64 of the SHA-256 of the key blob, without padding). Pure: text and key blobs in,
// a decision out. There is no "accept and remember": an unknown key is refused.

import { createHash, createHmac } from 'node:crypto';

/** `SHA256:…` of a public key blob, as `ssh-keygen -l` and `ssh` print it. */
export function sha256Fingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …): its first string. */
export function blobKeyType(blob: Uint8Array): string | null {
  if (blob.length < 4) return null;
  const n = Buffer.from(blob).readUInt32BE(0);
  if (n > blob.length - 4 || n > 64) return null;
  return Buffer.from(blob.subarray(4, 4 + n)).toString('latin1');
}

export interface KnownHostEntry {
  marker: '@revoked' | '@cert-authority' | null;
  patterns: string;
  keyType: string;
  blob: Buffer;
  line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (words[0] === '@revoked' || words[0] === '@cert-authority') marker = words.shift() as KnownHostEntry['marker'];
    const [patterns, keyType, key] = words;
    if (patterns === undefined || keyType === undefined || key === undefined) return; // malformed: OpenSSH skips it too
    const blob = Buffer.from(key, 'base64');
    if (blob.length === 0) return;
    out.push({ marker, patterns, keyType, blob, line: i + 1 });
  });
  return out;
}

/** How the host is written in known_hosts: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH match.c match_pattern(): `*` and `?` wildcards, case-insensitive for host names. */
function globMatch(name: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** One entry's host field against the name: hashed (`|1|salt|hash`), or a pattern list with `!` negation. */
export function entryMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (salt === undefined || hash === undefined) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(name, p.slice(1))) return false;
    } else if (globMatch(name, p)) matched = true;
  }
  return matched;
}

export type HostKeyDecision =
  | { ok: true; how: string }
  | { ok: false; reason: 'unknown' | 'changed' | 'revoked' | 'pin-mismatch'; message: string };

export type HostKeyPolicy =
  | { kind: 'pinned'; fingerprint: string }
  | { kind: 'known-hosts'; file: string; text: string };

/** Key types known_hosts lists for the name (to offer only those, as ssh does). */
export function knownKeyTypes(policy: HostKeyPolicy, name: string): string[] {
  if (policy.kind !== 'known-hosts') return [];
  const types = parseKnownHosts(policy.text)
    .filter((e) => e.marker === null && entryMatches(e.patterns, name))
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/**
 * Is this the host's key? Pinned: the fingerprint must be equal. known_hosts: a @revoked entry of
 * the key refuses it; an entry of the name with the same key accepts it; entries of the name
 * that all differ mean the key changed; none means unknown. Every refusal names the fingerprint
 * the server showed, so a person can check it out of band and pin it.
 */
export function verifyHostKey(policy: HostKeyPolicy, name: string, blob: Uint8Array): HostKeyDecision {
  const fp = sha256Fingerprint(blob);
  const pinHint = `If ${fp} is the key of ${name} (check it on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), pass --host-key ${fp}`;
  if (policy.kind === 'pinned') {
    if (policy.fingerprint.replace(/=+$/, '') === fp) return { ok: true, how: `pinned ${fp}` };
    return { ok: false, reason: 'pin-mismatch', message: `host key of ${name} is ${fp}, not the pinned ${policy.fingerprint}: refused (a changed key can mean someone is in between)` };
  }
  const entries = parseKnownHosts(policy.text);
  const key = Buffer.from(blob);
  if (entries.some((e) => e.marker === '@revoked' && e.blob.equals(key))) {
    return { ok: false, reason: 'revoked', message: `host key ${fp} of ${name} is marked @revoked in ${policy.file}: refused` };
  }
  const mine = entries.filter((e) => e.marker === null && entryMatches(e.patterns, name));
  const same = mine.find((e) => e.blob.equals(key));
  if (same) return { ok: true, how: `${policy.file} line ${same.line}` };
  if (mine.length > 0) {
    return {
      ok: false,
      reason: 'changed',
      message:
        `host key of ${name} changed: the server shows ${fp}, ${policy.file} line ${mine[0]!.line} holds another key. ` +
        `Refused (this can mean someone is in between). ${pinHint} or fix ${policy.file}`,
    };
  }
  return { ok: false, reason: 'unknown', message: `host ${name} is not in ${policy.file}; the server shows ${fp}. Refused. ${pinHint}, or add the key to ${policy.file}` };
}
