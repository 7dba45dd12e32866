// Line splitting and the "is this text or line noise" test shared by every parser.

import { LogParseError, type LogSource } from './errors.ts';

/** One line of a captured log with its 1-based number in that log. */
export interface SourceLine {
  readonly no: number;
  readonly text: string;
}

/** A parser's input: raw text (numbered from 1) or lines already numbered by the section splitter. */
export type LinesInput = string | readonly SourceLine[];

/**
 * Splits on `\n`, dropping any `\r` before it: the serial console's tty turns `\n` into `\r\n`,
 * and a program that itself writes `\r\n` yields `\r\r\n`. A final line without newline (a cut
 * log) is kept; the empty string after a final newline is not a line.
 */
export function splitLines(text: string, firstNo = 1): SourceLine[] {
  if (text === '') return [];
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((t, i) => ({ no: firstNo + i, text: t.replace(/\r+$/, '') }));
}

export function toLines(input: LinesInput): readonly SourceLine[] {
  return typeof input === 'string' ? splitLines(input) : input;
}

// C0 controls except TAB, DEL, C1 controls (binary read as latin1), U+FFFD (binary read as UTF-8),
// and a `\r` left inside a line. All of these mean line noise, not something a program printed.
const NOISE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\ufffd]/;
// Section bodies are produced by our own init from kernel text that is ASCII in every format we
// parse; anything else is corruption and must not reach a comparison.
const NON_ASCII = /[^\t\x20-\x7e]/;

/** Index of the first noise character, or -1. */
export function noiseAt(text: string): number {
  const m = NOISE.exec(text);
  return m ? m.index : -1;
}

/** Index of the first character that is not printable ASCII or TAB, or -1. */
export function nonAsciiAt(text: string): number {
  const m = NON_ASCII.exec(text);
  return m ? m.index : -1;
}

export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp === 0) return 'a NUL byte';
  if (cp === 0xfffd) return 'an undecodable byte (U+FFFD)';
  return `character U+${cp.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** Throws a LogParseError if the line holds anything but printable ASCII and TAB. */
export function requireAscii(source: LogSource, line: SourceLine, where: string): void {
  const at = nonAsciiAt(line.text);
  if (at >= 0) {
    throw new LogParseError(
      source,
      line.no,
      line.text,
      `${describeChar(line.text[at] ?? '')} at column ${at + 1} in ${where}`,
      'the serial line carried noise or binary data; check the console settings and rerun',
    );
  }
}
