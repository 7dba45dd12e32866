// The one error every log parser throws. It names where (log, 1-based line) and shows the
// offending text escaped, so a cut log or a line of binary noise is diagnosable from CI output.

/** Which captured log a line came from. */
export type LogSource = 'serial' | 'seabios' | (string & {});

const EXCERPT_CHARS = 120;

/** JSON-escaped, shortened excerpt: control bytes and NULs become visible instead of eating the message. */
export function excerpt(text: string): string {
  const cut = text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
  return JSON.stringify(cut);
}

export class LogParseError extends Error {
  constructor(
    /** The log the line came from. */
    readonly source: LogSource,
    /** 1-based line number in that log; 0 when the problem is the log as a whole (e.g. empty). */
    readonly line: number,
    /** The offending line exactly as read (line ending removed). */
    readonly text: string,
    /** What is wrong, in a few words. */
    readonly problem: string,
    /** What to do about it, when we know. */
    readonly hint?: string,
  ) {
    super(
      `${source} log, line ${line}: ${problem}` +
        (line > 0 || text !== '' ? `: ${excerpt(text)}` : '') +
        (hint ? ` (${hint})` : ''),
    );
    this.name = 'LogParseError';
  }
}
