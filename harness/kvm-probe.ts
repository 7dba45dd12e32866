// Does KVM work here, and how far? Decided by a real, short boot of the harness's own guest with
// `-accel kvm`, because the answer cannot be read off the machine: /dev/kvm can exist and open
// while the (nested) KVM behind it runs SeaBIOS to the end and then never runs a Linux kernel.
//
//   unavailable    no /dev/kvm, no permission to open it, or QEMU refuses -accel kvm (its
//                  message kept), or the firmware itself does not finish under KVM
//   firmware-only  SeaBIOS finishes its POST under KVM (e820 map printed, `Booting from …`) but
//                  the guest does not reach its /init within the probe deadline: only the
//                  firmware layer can be observed (capture scope firmware)
//   full           the guest reaches its /init: KVM configurations capture like TCG ones
//
// One probe per process and QEMU binary (memoised; a probe that was aborted is not remembered).
// Capture, the matrix runner, `e820 kvm` and the conformance test share it.

import { constants as fsConstants, readFileSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { buildInitramfs } from '../guests/initramfs.ts';
import type { ProvisionedToolchain } from './capture.ts';
import { qemuVersionOf } from './capture.ts';
import { BootAbortedError, HarnessError, MissingToolError, QemuLaunchError, describeProgress, shellQuote, type BootProgress } from './errors.ts';
import { CPUINFO_PATH, parseCpuinfo } from './host-facts.ts';
import { planHarnessArgv } from './qemu-argv.ts';
import { runQemu } from './run-qemu.ts';
import { localHost } from './host/local.ts';
import type { Host } from './host/types.ts';

export type KvmStatus = 'unavailable' | 'firmware-only' | 'full';

/** The device QEMU opens for -accel kvm. */
export const KVM_DEVICE = '/dev/kvm';

/**
 * How long the guest gets, after SeaBIOS has handed over (`Booting from …`), to reach its /init.
 * Under working KVM the cloud kernel needs about a second (TCG ~2.5 s): 15 s separates "slow"
 * from "never".
 */
export const KVM_PROBE_DEADLINE_MS = 15_000;

/**
 * How long SeaBIOS gets to finish its POST under KVM. Generous on purpose: under nested KVM every
 * debug-port byte and VGA access is an exit to the outer hypervisor, so POST takes ~5 s on the
 * development machine and three times that when the machine is busy.
 */
export const KVM_PROBE_FIRMWARE_DEADLINE_MS = 60_000;

/** The probe's QEMU arguments: the smallest ordinary machine (the harness adds kernel, initrd, logs). */
export const KVM_PROBE_ARGS: readonly string[] = ['-M', 'pc', '-m', '512M', '-accel', 'kvm'];

export interface KvmProbeResult {
  status: KvmStatus;
  /** Why (unavailable, firmware-only) or what was seen (full), in one sentence a person can act on. */
  reason: string;
  /** QEMU's own stderr line when it refused -accel kvm, verbatim; null otherwise. */
  qemuMessage: string | null;
  qemu: { binary: string; version: string };
  /** The probe boot's full command (null when no boot was needed: no device, no permission). */
  argv: string[] | null;
  /** How far the probe boot got (null when there was no boot). */
  progress: BootProgress | null;
  /** QEMU's stderr lines other than the harness's own SIGTERM note (CPUID feature warnings…). */
  stderr: string[];
  /** The host CPU has the `hypervisor` flag: this machine is a guest itself, its KVM is nested. */
  nested: boolean | null;
  /** Kernel image the probe booted. */
  kernel: string | null;
  deadlineMs: number;
  /** Wall time of the probe, boot included. */
  elapsedMs: number;
  /** When the probe ran (ISO 8601). */
  checkedAt: string;
  /** SeaBIOS's deadline (deadlineMs is the kernel's, counted from SeaBIOS's hand-over). */
  firmwareDeadlineMs: number;
}

export interface KvmProbeDeps {
  /** Null when QEMU can open the device, else why not. */
  checkDevice(path: string): Promise<string | null>;
  runQemu: typeof runQemu;
  buildInitramfs(inputs: { busybox: string; fwCfgModule: string | null }, onProgress?: (msg: string) => void): Promise<string>;
  qemuVersion(binary: string, env?: Record<string, string>): Promise<string>;
  /** The host CPU's `hypervisor` flag, null if unknown. */
  nested(): boolean | null | Promise<boolean | null>;
}

export interface KvmProbeOptions {
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
  /** The kernel's window after SeaBIOS hands over; default KVM_PROBE_DEADLINE_MS. */
  deadlineMs?: number;
  /** SeaBIOS's deadline from QEMU's start; default KVM_PROBE_FIRMWARE_DEADLINE_MS. */
  firmwareDeadlineMs?: number;
  /**
   * The machine to probe (its /dev/kvm, /proc/cpuinfo and QEMU; `tools` are paths there); default
   * this one. The deps, where given, replace what is read from it (tests).
   */
  host?: Host;
  deps?: Partial<KvmProbeDeps>;
}

/**
 * The device check on another host, as the account QEMU runs as there: one fixed script, the
 * path its argument; prints ENOENT, NOTCHR, OK, or `EACCES mode uid gid`.
 */
const REMOTE_DEVICE_CHECK = 'if [ ! -e "$1" ]; then echo ENOENT; elif [ ! -c "$1" ]; then echo NOTCHR; elif [ -r "$1" ] && [ -w "$1" ]; then echo OK; else echo "EACCES $(stat -c \'%a %u %g\' "$1")"; fi';

const noKvm = (path: string) => `there is no ${path}: the host kernel has no KVM (load kvm_intel or kvm_amd; inside a VM, nested virtualisation must be enabled)`;
const noPermission = (path: string, mode: string, uid: string, gid: string) =>
  `no permission to open ${path} (mode ${mode.padStart(4, '0')}, owner uid ${uid}, group gid ${gid}): run as a user in the device's group (usually kvm), or as root`;

/** Why QEMU could not open /dev/kvm, or null when it can (checked as the account that runs QEMU). */
export async function checkKvmDevice(path: string = KVM_DEVICE, host: Host = localHost): Promise<string | null> {
  if (host !== localHost) {
    const r = await host.exec(['sh', '-c', REMOTE_DEVICE_CHECK, 'e820', path], { timeoutMs: 30_000 });
    const [word, mode = '?', uid = '?', gid = '?'] = r.stdout.trim().split(/\s+/);
    if (word === 'OK') return null;
    if (word === 'ENOENT') return `${host.label}: ${noKvm(path)}`;
    if (word === 'NOTCHR') return `${host.label}: ${path} is not a character device`;
    if (word === 'EACCES') return `${host.label}: ${noPermission(path, mode, uid, gid)}`;
    return `${host.label}: checking ${path} failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().slice(0, 200)}`;
  }
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? noKvm(path) : `cannot stat ${path}: ${(err as Error).message}`;
  }
  if (!st.isCharacterDevice()) return `${path} is not a character device`;
  try {
    await access(path, fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    return noPermission(path, (st.mode & 0o777).toString(8), String(st.uid), String(st.gid));
  }
  return null;
}

function nestedFromCpuinfo(): boolean | null {
  try {
    return parseCpuinfo(readFileSync(CPUINFO_PATH, 'utf8')).hypervisor;
  } catch {
    return null;
  }
}

/** What the probe reads from the machine comes from the host; the deps, where given, replace it. */
function resolveDeps(p: Partial<KvmProbeDeps> = {}, host: Host = localHost): KvmProbeDeps {
  const remote = host !== localHost;
  return {
    checkDevice: p.checkDevice ?? ((path) => checkKvmDevice(path, host)),
    runQemu: p.runQemu ?? ((o) => runQemu(remote ? { ...o, host } : o)),
    buildInitramfs: p.buildInitramfs ?? ((inputs, onProgress) => buildInitramfs(inputs, undefined, onProgress ? { onProgress } : {})),
    qemuVersion:
      p.qemuVersion ??
      (remote
        ? async (binary) => ((await host.exec([binary, '--version'], { timeoutMs: 30_000 })).stdout.split('\n')[0] ?? '').trim()
        : qemuVersionOf),
    nested:
      p.nested ??
      (remote
        ? async () => parseCpuinfo((await host.readFile(CPUINFO_PATH)).toString('utf8')).hypervisor
        : nestedFromCpuinfo),
  };
}

/** QEMU's stderr without our own `terminating on signal` line. */
function stderrLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && !/terminating on signal \d+/.test(l));
}

/** Runs the probe (not memoised; see probeKvm). */
export async function runKvmProbe(tools: ProvisionedToolchain, options: KvmProbeOptions = {}): Promise<KvmProbeResult> {
  const deps = resolveDeps(options.deps, options.host);
  const t0 = performance.now();
  const deadlineMs = options.deadlineMs ?? KVM_PROBE_DEADLINE_MS;
  const firmwareDeadlineMs = options.firmwareDeadlineMs ?? KVM_PROBE_FIRMWARE_DEADLINE_MS;
  const version = tools.qemu.version ?? (await deps.qemuVersion(tools.qemu.binary, tools.qemu.env));
  const nested = await deps.nested();
  const base = {
    qemu: { binary: tools.qemu.binary, version },
    nested,
    deadlineMs,
    firmwareDeadlineMs,
    checkedAt: new Date().toISOString(),
  };
  const done = (r: Omit<KvmProbeResult, keyof typeof base | 'elapsedMs'>): KvmProbeResult => ({ ...base, ...r, elapsedMs: Math.round(performance.now() - t0) });

  const deviceProblem = await deps.checkDevice(KVM_DEVICE);
  if (deviceProblem !== null) {
    return done({ status: 'unavailable', reason: deviceProblem, qemuMessage: null, argv: null, progress: null, stderr: [], kernel: null });
  }

  const initrd = await deps.buildInitramfs({ busybox: tools.busybox, fwCfgModule: tools.kernel.fwCfgModule }, options.onProgress);
  options.onProgress?.(`kvm probe: booting ${shellQuote([...KVM_PROBE_ARGS])} (SeaBIOS gets ${firmwareDeadlineMs / 1000} s, then the kernel ${deadlineMs / 1000} s)`);
  let argv: string[] = [];
  // Two deadlines, one boot: the kernel's window opens when SeaBIOS hands over. It closes by
  // aborting the boot through our own controller (the caller's signal aborts it too).
  const boot = new AbortController();
  let kernelWindowOver = false;
  let kernelTimer: NodeJS.Timeout | undefined;
  const onCallerAbort = (): void => boot.abort(options.signal?.reason);
  if (options.signal?.aborted) onCallerAbort();
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    const run = await deps.runQemu({
      qemu: tools.qemu.binary,
      args: (paths) => {
        const plan = planHarnessArgv({
          userArgs: KVM_PROBE_ARGS,
          kernel: tools.kernel.image,
          initrd,
          serialLog: paths.serialLog,
          firmwareLog: paths.firmwareLog,
          ...(tools.seabiosDir !== undefined ? { firmwareDir: tools.seabiosDir } : {}),
        });
        argv = [tools.qemu.binary, ...plan.args];
        return plan.args;
      },
      until: 'init',
      deadlineMs: firmwareDeadlineMs + deadlineMs,
      signal: boot.signal,
      onEvent: (e) => {
        if (e.stage !== 'firmware' || kernelTimer !== undefined) return;
        kernelTimer = setTimeout(() => {
          kernelWindowOver = true;
          boot.abort(new Error(`the kernel's ${deadlineMs / 1000} s window after SeaBIOS closed`));
        }, deadlineMs);
      },
      ...(tools.qemu.env ? { env: tools.qemu.env } : {}),
    });
    const s = (run.wallMs / 1000).toFixed(1);
    return done({
      status: 'full',
      reason: `the guest kernel reached its init under KVM in ${s} s`,
      qemuMessage: null,
      argv: run.argv,
      progress: run.progress,
      stderr: stderrLines(run.stderr),
      kernel: tools.kernel.image,
    });
  } catch (err) {
    // Not KVM's doing: the caller's interrupt, or no QEMU at all.
    if ((err instanceof BootAbortedError && !kernelWindowOver) || err instanceof MissingToolError || !(err instanceof HarnessError)) throw err;
    const c = err.context;
    const stderr = stderrLines(c.stderr);
    const common = { argv: c.argv.length > 0 ? [...c.argv] : argv, progress: c.progress, stderr, kernel: tools.kernel.image };
    // QEMU's KVM errors (`KVM internal error. Suberror: 1`) belong in the reason; everything
    // else it printed (CPUID feature warnings, module loading noise) stays in `stderr`.
    const errors = stderr.map((l) => l.replace(/^\S*qemu-system-x86_64: /, '')).filter((l) => !l.startsWith('warning: ') && /kvm/i.test(l));
    const said = errors.length > 0 ? `; QEMU said: ${errors.slice(0, 3).join(' / ')}` : '';
    const nestedNote = nested === true ? ' (nested KVM: this machine\'s CPU has the hypervisor flag)' : '';
    if (err instanceof QemuLaunchError) {
      return done({ status: 'unavailable', reason: `QEMU refuses -accel kvm: ${err.qemuMessage || err.headline}`, qemuMessage: err.qemuMessage || null, ...common });
    }
    const p = c.progress;
    if (!p.firmwareDone) {
      return done({
        status: 'unavailable',
        reason: `SeaBIOS did not finish its POST under KVM within ${firmwareDeadlineMs / 1000} s (${describeProgress(p)})${said}${nestedNote}`,
        qemuMessage: null,
        ...common,
      });
    }
    const how =
      p.panicLine !== null
        ? `the guest kernel panicked (${p.panicLine})`
        : !p.kernelStarted
          ? `the guest kernel printed nothing in the ${deadlineMs / 1000} s after that`
          : c.exitCode !== null && !c.killedByHarness
            ? `QEMU exited (status ${c.exitCode}) before the guest reached its init`
            : `the guest kernel started but did not reach its init in the ${deadlineMs / 1000} s after that`;
    return done({
      status: 'firmware-only',
      reason: `SeaBIOS finishes its POST under KVM (e820 map printed, "Booting from …") but ${how}${said}${nestedNote}`,
      qemuMessage: null,
      ...common,
    });
  } finally {
    clearTimeout(kernelTimer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

const memo = new Map<string, Promise<KvmProbeResult>>();

/** The probe for this QEMU binary, run once per process (concurrent callers share the one boot). */
export function probeKvm(tools: ProvisionedToolchain, options: KvmProbeOptions = {}): Promise<KvmProbeResult> {
  const key = `${options.host?.label ?? 'local'}\u0000${tools.qemu.binary}\u0000${JSON.stringify(tools.qemu.env ?? {})}`;
  let p = memo.get(key);
  if (p === undefined) {
    p = runKvmProbe(tools, options);
    // An interrupted or broken probe is not an answer: the next caller probes again.
    p.catch(() => memo.delete(key));
    memo.set(key, p);
  }
  return p;
}

/** Forget every memoised probe (tests). */
export function clearKvmProbes(): void {
  memo.clear();
}

/** The probe as people read it (`e820 kvm`, logs). */
export function formatKvmProbe(r: KvmProbeResult): string {
  const lines = [
    `kvm: ${r.status} — ${r.reason}`,
    `qemu: ${r.qemu.version} (${r.qemu.binary})`,
  ];
  if (r.argv) lines.push(`probe: ${shellQuote(r.argv)}`);
  if (r.progress) {
    lines.push(`probe boot: ${describeProgress(r.progress)}; ${(r.elapsedMs / 1000).toFixed(1)} s (SeaBIOS had ${r.firmwareDeadlineMs / 1000} s, then the kernel ${r.deadlineMs / 1000} s)`);
  }
  for (const l of r.stderr) lines.push(`qemu stderr: ${l}`);
  if (r.nested !== null) lines.push(`host CPU: ${r.nested ? 'hypervisor flag set (this machine is a guest: nested KVM)' : 'no hypervisor flag (bare metal KVM)'}`);
  const consequence: Record<KvmStatus, string> = {
    full: 'KVM cells capture every layer, like TCG cells',
    'firmware-only': 'KVM cells run with capture scope firmware: the firmware layer is compared, the kernel layer is excluded (this reason is in each result)',
    unavailable: 'KVM cells end in a harness error (KvmUnavailable) naming this reason',
  };
  lines.push(`so: ${consequence[r.status]}`);
  return lines.join('\n');
}
