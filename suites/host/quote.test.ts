import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { posixCommand, posixQuote, UnquotableArgumentError } from '../../harness/host/quote.ts';
import { remoteExecCommand } from '../../harness/host/ssh.ts';

/** What /bin/sh makes of a command line: each argument of printf, NUL-terminated. */
function shWords(command: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${command}`], { encoding: 'latin1' });
  return out.split('\0').slice(0, -1);
}

export const HOSTILE = [
  'a b',
  "it's",
  '"double"',
  '$(touch /nonexistent-e820-pwned)',
  '`id`',
  'x; rm -rf /nonexistent-e820',
  'line1\nline2',
  '*',
  '~',
  '$HOME',
  '\\',
  "'",
  '',
  '-n',
  '--',
  'a\tb\rc',
  '\u00e9\u4e2d',
];

describe('posixQuote', () => {
  it('quotes every word, even a plain one', () => {
    expect(posixQuote('abc')).toBe(`'abc'`);
    expect(posixQuote("it's")).toBe(`'it'\\''s'`);
    expect(posixCommand(['echo', 'a b'])).toBe(`'echo' 'a b'`);
  });

  it('hostile words reach sh intact', () => {
    expect(shWords(HOSTILE.map((w) => posixQuote(w)).join(' '))).toEqual(HOSTILE.map((w) => Buffer.from(w, 'utf8').toString('latin1')));
  });

  it('any string without NUL round-trips through sh (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary-ascii' }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 6 }), (words) => {
        expect(shWords(words.map((w) => posixQuote(w)).join(' '))).toEqual(words);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a NUL, naming the argument', () => {
    expect(() => posixCommand(['printf', 'a\0b'])).toThrow(UnquotableArgumentError);
    expect(() => posixCommand(['printf', 'a\0b'])).toThrow(/argument 1/);
  });

  it('the remote wrapper runs the argv as given, environment included', () => {
    const cmd = remoteExecCommand(['sh', '-c', 'printf "%s\\0" "$V" "$@"', 'x', ...HOSTILE], { V: 'v $(x) ;\n' });
    const out = execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out.split('\0').slice(0, -1)).toEqual(['v $(x) ;\n', ...HOSTILE]);
  });

  it('an environment name that is not a shell name is refused', () => {
    expect(() => remoteExecCommand(['true'], { 'A;B': '1' })).toThrow(/not a shell name/);
  });
});
