// A small line diff (LCS) printed like a unified diff: `- ` expected (model), `+ ` observed
// (machine), `  ` both. Maps are tens of lines, so O(n·m) is nothing.

export type DiffOp = { op: ' ' | '-' | '+'; text: string; a: number; b: number };

export function diffLines(expected: readonly string[], observed: readonly string[]): DiffOp[] {
  const n = expected.length;
  const m = observed.length;
  // lcs[i][j] = LCS length of expected[i..] and observed[j..].
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = expected[i] === observed[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: DiffOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === observed[j]) {
      ops.push({ op: ' ', text: expected[i]!, a: i++, b: j++ });
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      // Prefer listing removals before additions within a change block (below).
      ops.push({ op: '+', text: observed[j]!, a: i, b: j++ });
    } else {
      ops.push({ op: '-', text: expected[i]!, a: i++, b: j });
    }
  }
  // Within each run of changes put all `-` before all `+`, as unified diffs do: the expected
  // entry sits right above the observed one that replaced it.
  const out: DiffOp[] = [];
  for (let k = 0; k < ops.length; ) {
    if (ops[k]!.op === ' ') {
      out.push(ops[k++]!);
      continue;
    }
    const block: DiffOp[] = [];
    while (k < ops.length && ops[k]!.op !== ' ') block.push(ops[k++]!);
    out.push(...block.filter((o) => o.op === '-'), ...block.filter((o) => o.op === '+'));
  }
  // Renumber after the reordering: a/b are the positions in expected/observed at each op.
  let a = 0;
  let b = 0;
  return out.map((o) => {
    const at = { ...o, a, b };
    if (o.op !== '+') a++;
    if (o.op !== '-') b++;
    return at;
  });
}

/** Lists up to this many lines in full; longer ones (iomem) are cut to hunks with context. */
const FULL_LISTING_MAX_LINES = 40;
const CONTEXT_LINES = 3;

export function renderDiff(
  ops: readonly DiffOp[],
  labels: { expected: string; observed: string },
): string {
  const out = [`--- ${labels.expected}`, `+++ ${labels.observed}`];
  const show = new Array<boolean>(ops.length).fill(ops.length <= FULL_LISTING_MAX_LINES);
  ops.forEach((o, k) => {
    if (o.op === ' ') return;
    for (let c = Math.max(0, k - CONTEXT_LINES); c <= Math.min(ops.length - 1, k + CONTEXT_LINES); c++) show[c] = true;
  });
  for (let k = 0; k < ops.length; ) {
    if (!show[k]) {
      k++;
      continue;
    }
    let end = k;
    while (end < ops.length && show[end]) end++;
    const hunk = ops.slice(k, end);
    const aStart = hunk[0]!.a;
    const bStart = hunk[0]!.b;
    const aLen = hunk.filter((o) => o.op !== '+').length;
    const bLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${aStart + 1},${aLen} +${bStart + 1},${bLen} @@`);
    for (const o of hunk) out.push(`${o.op} ${o.text}`);
    k = end;
  }
  return out.join('\n');
}
