// Live progress on stderr: a redrawn block (log-update) on a terminal, one plain line per
// finished cell otherwise (CI logs must stay readable and free of escape codes).

import { createLogUpdate } from 'log-update';
import { printable, quotedLine } from '../errors.ts';
import { formatDuration } from './reporters.ts';
import type { CellResult } from './runner.ts';
import type { CellRun } from './schema.ts';

/** Redraw at most this often: the clock ticks, cells finish seconds apart. */
const REDRAW_INTERVAL_MS = 500;

export interface ProgressOptions {
  total: number;
  stream: NodeJS.WriteStream;
  /** Force the plain mode (default: plain unless the stream is a TTY and CI is not set). */
  plain?: boolean;
}

export class Progress {
  private done = 0;
  private failing = 0;
  private erroring = 0;
  private readonly running = new Map<string, string>();
  private readonly t0 = performance.now();
  private readonly plain: boolean;
  private readonly logUpdate: ReturnType<typeof createLogUpdate> | null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ProgressOptions) {
    this.plain = options.plain ?? !(options.stream.isTTY && !process.env.CI);
    this.logUpdate = this.plain ? null : createLogUpdate(options.stream);
    if (!this.plain) {
      this.timer = setInterval(() => this.render(), REDRAW_INTERVAL_MS);
      this.timer.unref();
    }
  }

  line(): string {
    const elapsed = performance.now() - this.t0;
    const remaining = this.options.total - this.done;
    const eta = this.done > 0 && remaining > 0 ? formatDuration((elapsed / this.done) * remaining) : this.done > 0 ? '0s' : '–';
    return `${this.done}/${this.options.total} done · ${this.failing} failing · ${this.erroring} erroring · elapsed ${formatDuration(elapsed)} · ETA ${eta}`;
  }

  start(run: CellRun): void {
    this.running.set(run.key, 'starting');
    this.render();
  }

  progress(run: CellRun, msg: string): void {
    // Progress can quote the guest's console: never let its control bytes reach the terminal.
    if (this.running.has(run.key)) this.running.set(run.key, quotedLine(msg));
  }

  finish(result: CellResult): void {
    this.running.delete(result.key);
    this.done++;
    if (result.outcome === 'fail') this.failing++;
    if (result.outcome === 'error') this.erroring++;
    const where =
      result.verdict?.outcome === 'fail'
        ? ` at ${result.verdict.first.field}`
        : result.verdict?.outcome === 'error'
          ? ` (${result.verdict.error.kind})`
          : '';
    const text = `[${this.done}/${this.options.total}] ${result.outcome.toUpperCase()} ${result.key}${where} ${formatDuration(result.timings.totalMs)}`;
    if (this.logUpdate) {
      // Keep a permanent record of each finished cell above the live block.
      this.logUpdate.clear();
      this.options.stream.write(`${text}\n`);
      this.render();
    } else {
      this.options.stream.write(`${text} — ${this.line()}\n`);
    }
  }

  note(raw: string): void {
    const text = printable(raw);
    if (this.logUpdate) {
      this.logUpdate.clear();
      this.options.stream.write(`${text}\n`);
      this.render();
    } else this.options.stream.write(`${text}\n`);
  }

  private render(): void {
    if (!this.logUpdate) return;
    const running = [...this.running].map(([key, msg]) => `  ▸ ${key}: ${msg}`);
    this.logUpdate([this.line(), ...running].join('\n'));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.logUpdate) this.logUpdate.done();
  }
}
