import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { entryMatches, knownHostsName, knownKeyTypes, sha256Fingerprint, verifyHostKey } from '../../harness/host/known-hosts.ts';
import { localHost } from '../../harness/host/local.ts';
import { HostSlots } from '../../harness/host/slots.ts';
import type { Host } from '../../harness/host/types.ts';

/** A key blob as SSH encodes one: string type, then bytes. */
function blob(type: string, fill: number): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.alloc(32, fill)]);
}

const A = blob('ssh-ed25519', 1);
const B = blob('ssh-ed25519', 2);
const line = (hosts: string, b: Buffer, marker = '') => `${marker ? `${marker} ` : ''}${hosts} ssh-ed25519 ${b.toString('base64')}`;
const kh = (text: string) => ({ kind: 'known-hosts' as const, file: 'kh', text });

describe('known_hosts', () => {
  it('fingerprints as ssh-keygen -l prints them', () => {
    expect(sha256Fingerprint(A)).toBe(`SHA256:${createHash('sha256').update(A).digest('base64').replace(/=+$/, '')}`);
    expect(knownHostsName('h', 22)).toBe('h');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('accepts the listed key, refuses another (changed) and an unlisted host (unknown), naming the fingerprint', () => {
    const text = line('lab1,[10.0.0.7]:2222', A);
    expect(verifyHostKey(kh(text), 'lab1', A)).toMatchObject({ ok: true });
    expect(verifyHostKey(kh(text), '[10.0.0.7]:2222', A)).toMatchObject({ ok: true });
    const changed = verifyHostKey(kh(text), 'lab1', B);
    expect(changed).toMatchObject({ ok: false, reason: 'changed' });
    expect(!changed.ok && changed.message).toContain(sha256Fingerprint(B));
    expect(verifyHostKey(kh(text), 'lab2', A)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(verifyHostKey(kh(text), '10.0.0.7', A)).toMatchObject({ ok: false, reason: 'unknown' }); // port 22 is another name
  });

  it('hashed names, wildcards and negation, as OpenSSH matches them', () => {
    const salt = Buffer.alloc(20, 7);
    const hash = createHmac('sha1', salt).update('[h]:2200').digest('base64');
    expect(entryMatches(`|1|${salt.toString('base64')}|${hash}`, '[h]:2200')).toBe(true);
    expect(entryMatches(`|1|${salt.toString('base64')}|${hash}`, 'h')).toBe(false);
    expect(entryMatches('*.lab,!bad.lab', 'good.lab')).toBe(true);
    expect(entryMatches('*.lab,!bad.lab', 'bad.lab')).toBe(false);
    expect(entryMatches('node?', 'node1')).toBe(true);
    expect(entryMatches('node?', 'node12')).toBe(false);
  });

  it('a @revoked key is refused even when a line lists it; offered key types follow the file', () => {
    const text = [line('lab1', A), line('*', A, '@revoked')].join('\n');
    expect(verifyHostKey(kh(text), 'lab1', A)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(knownKeyTypes(kh(text), 'lab1')).toEqual(['ssh-ed25519']);
  });

  it('a pin accepts exactly its key', () => {
    expect(verifyHostKey({ kind: 'pinned', fingerprint: sha256Fingerprint(A) }, 'x', A)).toMatchObject({ ok: true });
    expect(verifyHostKey({ kind: 'pinned', fingerprint: sha256Fingerprint(A) }, 'x', B)).toMatchObject({ ok: false, reason: 'pin-mismatch' });
  });
});

describe('HostSlots', () => {
  const remote = { label: 'ssh://r' } as Host;
  it('hands out remote slots first, then local ones, and waits when all are taken', async () => {
    const slots = new HostSlots([{ host: localHost, jobs: 1 }, { host: remote, jobs: 1 }]);
    expect(slots.size).toBe(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    expect([a.label, b.label]).toEqual(['ssh://r', 'local']);
    let third: Host | null = null;
    const waiting = slots.acquire().then((h) => (third = h));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBeNull();
    slots.release(b);
    await waiting;
    expect(third!.label).toBe('local');
    expect(slots.taken).toEqual(new Map([['ssh://r', 1], ['local', 2]]));
  });

  it('a boot that accepts only some hosts waits for one of theirs; a freed slot goes to the first waiter that takes it', async () => {
    const kvm1 = { label: 'ssh://kvm1' } as Host;
    const slots = new HostSlots([{ host: localHost, jobs: 1 }, { host: kvm1, jobs: 1 }]);
    expect(slots.hosts.map((h) => h.label)).toEqual(['ssh://kvm1', 'local']);
    const onlyKvm1 = (h: Host) => h === kvm1;
    const first = await slots.acquire(onlyKvm1);
    expect(first).toBe(kvm1);
    let second: Host | null = null;
    const waiting = slots.acquire(onlyKvm1).then((h) => (second = h));
    // The local slot is free, but not for this boot; an unrestricted boot takes it.
    const any = await slots.acquire();
    expect(any).toBe(localHost);
    slots.release(any);
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBeNull();
    slots.release(first);
    await waiting;
    expect(second).toBe(kvm1);
    await expect(slots.acquire((h) => h.label === 'ssh://nowhere')).rejects.toThrow(/no host of this run is acceptable/);
  });
});
