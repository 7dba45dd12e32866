// The error of a malformed expect file (harness/matrix/intent.ts parses them), in a module of its
// own so that `e820 predict` can recognise it by class without loading the expect-file parser
// (which it loads only with --expect).

export class ExpectFileError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(problems.length === 1 ? problems[0]! : `${file}: invalid expect file:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ExpectFileError';
  }
}
