// The one way a string reaches a remote shell. OpenSSH runs an exec request as
// `$SHELL -c COMMAND` on the server (session.c do_child), so every argument of a remote command
// is text a shell parses. Each word is put in POSIX single quotes, inside which a shell treats
// nothing as special (POSIX.1-2017 XCU 2.2.2 "Single-Quotes"), not `$`, backquotes, `;`, globs or
// newlines; a `'` inside is closed, escaped and reopened (`'\''`). Every word is quoted, even
// a plain one, so there is no "looks safe" rule to get wrong.
//
// Not for display: harness/errors.ts shellWord prints commands for a person to paste (bash's
// `$'…'` for control characters); this one must carry the bytes exactly, newlines included.

/** A NUL cannot be in an argv (execve's strings end at it): refused, never truncated. */
export class UnquotableArgumentError extends Error {
  constructor(readonly index: number) {
    super(`argument ${index} holds a NUL byte, which no program argument can carry: remove it`);
    this.name = 'UnquotableArgumentError';
  }
}

/** One word in POSIX single quotes. */
export function posixQuote(word: string, index = 0): string {
  if (word.includes('\0')) throw new UnquotableArgumentError(index);
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one command line for `sh -c`: every word quoted, joined by spaces. */
export function posixCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('internal: an empty argv has no program to run');
  return argv.map((w, i) => posixQuote(w, i)).join(' ');
}
