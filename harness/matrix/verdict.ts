// The outcome of one cell: model versus machine. Plain data (JSON-serialisable) so results.json,
// JUnit and the CLI all print the same thing.

export type Layer = 'qemu' | 'firmware' | 'kernel';

/** Every compared field, in boot order: the first one that differs is the verdict's. */
export const FIELDS = [
  { layer: 'qemu', field: 'qemu.e820' },
  { layer: 'firmware', field: 'firmware.e820' },
  { layer: 'firmware', field: 'firmware.zoneHighReturned' },
  { layer: 'kernel', field: 'kernel.biosE820' },
  { layer: 'kernel', field: 'kernel.e820Edits' },
  { layer: 'kernel', field: 'kernel.memmap' },
  { layer: 'kernel', field: 'kernel.iomem' },
] as const satisfies ReadonlyArray<{ layer: Layer; field: string }>;

export type FieldName = (typeof FIELDS)[number]['field'];

export type FieldStatus =
  /** Both sides present and identical. */
  | 'match'
  /** Both sides present, different. */
  | 'differ'
  /** The model does not predict it for this configuration (absent in the prediction). */
  | 'not-predicted'
  /** The harness could not observe it (absent in the observation; reason given). */
  | 'unobserved'
  /**
   * Its layer was left out of this run on purpose, reason given: a firmware-scope capture (KVM
   * that runs the firmware but not the kernel; a configuration whose kernel the model says never
   * starts). Never compared, never counted as a match.
   */
  | 'excluded';

export interface FieldResult {
  layer: Layer;
  field: FieldName;
  status: FieldStatus;
  /** Lines/entries the model predicted (null when not predicted). */
  expected: number | null;
  /** Lines/entries observed, before the exclusion rule (null when unobserved). */
  observed: number | null;
  /** Observed lines/entries actually compared. */
  compared: number;
  /** Observed lines left out by the documented rule (only kernel.iomem has one). */
  excludedByRule: number;
  /** Why it was not compared (not-predicted / unobserved / excluded). */
  reason?: string;
  /** A unified-style diff, expected (−) versus observed (+), when status is 'differ'. */
  diff?: string;
  /** One line saying what differs. */
  summary?: string;
}

export interface VerdictCounts {
  /** Observed lines/entries compared, all fields. */
  compared: number;
  /** Observed lines excluded by the iomem rule (not E820-derived). */
  excludedByRule: number;
  /** Observed lines/entries of fields the model did not predict (not compared). */
  excludedNotPredicted: number;
  /** Fields the model did not predict, by name. */
  notPredicted: FieldName[];
  /** Fields the harness could not observe, by name, with its reason. */
  unobserved: Array<{ field: FieldName; reason: string }>;
  /** Fields whose layer this run left out on purpose, by name, with the reason. */
  excluded: Array<{ field: FieldName; reason: string }>;
}

export type Verdict =
  | { outcome: 'pass'; fields: FieldResult[]; counts: VerdictCounts }
  | {
      outcome: 'fail';
      /** The first diverging field in boot order. */
      first: {
        layer: Layer;
        field: string;
        summary: string;
        diff: string;
        /** Declared changes (--expect / expect:) of a differing layer the machine did not show; absent when none. */
        declaredButAbsent?: string[];
      };
      fields: FieldResult[];
      counts: VerdictCounts;
    }
  | {
      outcome: 'error';
      error: { kind: string; message: string };
      fields?: FieldResult[];
      counts?: VerdictCounts;
    };

export type Outcome = Verdict['outcome'];

/** 0 all pass, 1 any fail, 2 any error (an error outranks a fail: the run is not trustworthy). */
export function exitCodeOf(outcomes: Iterable<Outcome | 'not-run'>): 0 | 1 | 2 {
  let code: 0 | 1 | 2 = 0;
  for (const o of outcomes) {
    if (o === 'error' || o === 'not-run') return 2;
    if (o === 'fail') code = 1;
  }
  return code;
}
