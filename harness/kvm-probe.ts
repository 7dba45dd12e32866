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
// The probe runs on a Host (harness/host/): this machine, or another one over SSH, where it
// boots that host's QEMU — the answer is that machine's, and the matrix runner asks each host
// of a run (harness/matrix/runner.ts). One probe per process, host and QEMU binary (memoised; a
// probe that was aborted is not remembered). Capture, the matrix runner, `e820 kvm` and the
// conformance test share it.

import { buildInitramfs } from '../guests/initramfs.ts';
import type { ProvisionedToolchain } from './capture.ts';
import { BootAbortedError, HarnessError, MissingToolError, QemuLaunchError, describeProgress, shellQuote, type BootProgress } from './errors.ts';
import { CPUINFO_PATH, parseCpuinfo } from './host-facts.ts';
import { planHarnessArgv } from './qemu-argv.ts';
import { runQemu } from './run-qemu.ts';
import { isThisMachine, localHost } from './host/local.ts';
import { remoteStageOf } from './host/remote-stage.ts';
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
  /** The machine probed: `local`, or `ssh://user@host:port` (harness/host/types.ts Host.label). */
  host: string;
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

export interface KvmProbeOptions {
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
  /** The kernel's window after SeaBIOS hands over; default KVM_PROBE_DEADLINE_MS. */
  deadlineMs?: number;
  /** SeaBIOS's deadline from QEMU's start; default KVM_PROBE_FIRMWARE_DEADLINE_MS. */
  firmwareDeadlineMs?: number;
  /**
   * The machine to probe; default this one. Everything the probe learns about a machine — its
   * /dev/kvm, its /proc/cpuinfo, its QEMU's version, the probe boot itself — goes through this
   * Host, so a fake Host stands in for a machine in tests. A LocalHost boots `tools` as they are;
   * another host boots its own QEMU (or the binaries named for it, harness/host/remote-stage.ts)
   * with the kernel and initramfs uploaded there.
   */
  host?: Host;
}

/**
 * The device check, as the account QEMU runs as on that host: one fixed script, the path its
 * argument; prints ENOENT, NOTCHR, OK, or `EACCES mode uid gid`.
 */
const DEVICE_CHECK = 'if [ ! -e "$1" ]; then echo ENOENT; elif [ ! -c "$1" ]; then echo NOTCHR; elif [ -r "$1" ] && [ -w "$1" ]; then echo OK; else echo "EACCES $(stat -c \'%a %u %g\' "$1")"; fi';

const noKvm = (path: string) => `there is no ${path}: the host kernel has no KVM (load kvm_intel or kvm_amd; inside a VM, nested virtualisation must be enabled)`;
const noPermission = (path: string, mode: string, uid: string, gid: string) =>
  `no permission to open ${path} (mode ${mode.padStart(4, '0')}, owner uid ${uid}, group gid ${gid}): run as a user in the device's group (usually kvm), or as root`;

/** `ssh://…: ` before a finding about another machine; nothing for this one. */
const whose = (host: Host): string => (host.label === localHost.label ? '' : `${host.label}: `);

/** Why QEMU could not open /dev/kvm on the host, or null when it can (checked as the account that runs QEMU). */
export async function checkKvmDevice(path: string = KVM_DEVICE, host: Host = localHost): Promise<string | null> {
  const r = await host.exec(['sh', '-c', DEVICE_CHECK, 'e820', path], { timeoutMs: 30_000 });
  const [word, mode = '?', uid = '?', gid = '?'] = r.stdout.trim().split(/\s+/);
  if (word === 'OK') return null;
  if (word === 'ENOENT') return `${whose(host)}${noKvm(path)}`;
  if (word === 'NOTCHR') return `${whose(host)}${path} is not a character device`;
  if (word === 'EACCES') return `${whose(host)}${noPermission(path, mode, uid, gid)}`;
  return `${whose(host)}checking ${path} failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().slice(0, 200)}`;
}

/** The host CPU's `hypervisor` flag, null when its /proc/cpuinfo cannot be read. */
async function nestedOn(host: Host): Promise<boolean | null> {
  try {
    return parseCpuinfo((await host.readFile(CPUINFO_PATH)).toString('utf8')).hypervisor;
  } catch {
    return null;
  }
}

/** What the probe boot runs on the host: its QEMU, and the kernel and initramfs as paths there. */
interface ProbeFiles {
  qemu: { binary: string; env?: Record<string, string>; version: string };
  kernel: string;
  initrd: string;
  seabiosDir?: string;
}

async function probeFiles(host: Host, tools: ProvisionedToolchain, initrd: string, onProgress?: (m: string) => void, signal?: AbortSignal): Promise<ProbeFiles> {
  if (isThisMachine(host)) {
    let version = tools.qemu.version;
    if (version === undefined) {
      const v = await host.exec([tools.qemu.binary, '--version'], { timeoutMs: 30_000, ...(tools.qemu.env ? { env: tools.qemu.env } : {}) });
      version = v.exitCode === 0 ? (v.stdout.split('\n')[0] ?? '').trim() : `unknown (${tools.qemu.binary} --version failed)`;
    }
    return {
      qemu: { binary: tools.qemu.binary, ...(tools.qemu.env ? { env: tools.qemu.env } : {}), version },
      kernel: tools.kernel.image,
      initrd,
      ...(tools.seabiosDir !== undefined ? { seabiosDir: tools.seabiosDir } : {}),
    };
  }
  // Another host boots its own QEMU with its own SeaBIOS (as capture does there), from uploads.
  const stage = remoteStageOf(host);
  const rt = await stage.tools(onProgress, signal);
  const [kernel, remoteInitrd] = await Promise.all([stage.upload(tools.kernel.image), stage.upload(initrd)]);
  return { qemu: { binary: rt.qemu, version: rt.versionLine }, kernel, initrd: remoteInitrd, ...(rt.firmwareDir !== undefined ? { seabiosDir: rt.firmwareDir } : {}) };
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
  const host = options.host ?? localHost;
  const t0 = performance.now();
  const deadlineMs = options.deadlineMs ?? KVM_PROBE_DEADLINE_MS;
  const firmwareDeadlineMs = options.firmwareDeadlineMs ?? KVM_PROBE_FIRMWARE_DEADLINE_MS;
  const nested = await nestedOn(host);
  const base = {
    host: host.label,
    nested,
    deadlineMs,
    firmwareDeadlineMs,
    checkedAt: new Date().toISOString(),
  };
  const done = (qemu: KvmProbeResult['qemu'], r: Omit<KvmProbeResult, keyof typeof base | 'elapsedMs' | 'qemu'>): KvmProbeResult => ({ ...base, qemu, ...r, elapsedMs: Math.round(performance.now() - t0) });

  const deviceProblem = await checkKvmDevice(KVM_DEVICE, host);
  if (deviceProblem !== null) {
    // No boot: the QEMU is named only when it is known without asking (another host's is not looked up).
    const qemu = isThisMachine(host) ? { binary: tools.qemu.binary, version: tools.qemu.version ?? 'not asked (no probe boot)' } : { binary: 'not looked up (no probe boot)', version: 'not asked (no probe boot)' };
    return done(qemu, { status: 'unavailable', reason: deviceProblem, qemuMessage: null, argv: null, progress: null, stderr: [], kernel: null });
  }

  // The guest's initramfs is built here (or given built, ProvisionedToolchain.initramfs).
  const localInitrd = tools.initramfs ?? (await buildInitramfs({ fwCfgModule: tools.kernel.fwCfgModule }, undefined, options.onProgress ? { onProgress: options.onProgress } : {}));
  const files = await probeFiles(host, tools, localInitrd, options.onProgress, options.signal);
  const qemu = { binary: files.qemu.binary, version: files.qemu.version };
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
    const run = await runQemu({
      qemu: files.qemu.binary,
      host,
      args: (paths) => {
        const plan = planHarnessArgv({
          userArgs: KVM_PROBE_ARGS,
          kernel: files.kernel,
          initrd: files.initrd,
          serialLog: paths.serialLog,
          firmwareLog: paths.firmwareLog,
          ...(files.seabiosDir !== undefined ? { firmwareDir: files.seabiosDir } : {}),
        });
        argv = [files.qemu.binary, ...plan.args];
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
      ...(files.qemu.env ? { env: files.qemu.env } : {}),
    });
    const s = (run.wallMs / 1000).toFixed(1);
    return done(qemu, {
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
    const nestedNote = nested === true ? ` (nested KVM: ${host.label === localHost.label ? 'this machine\'s' : `${host.label}'s`} CPU has the hypervisor flag)` : '';
    if (err instanceof QemuLaunchError) {
      return done(qemu, { status: 'unavailable', reason: `QEMU refuses -accel kvm: ${err.qemuMessage || err.headline}`, qemuMessage: err.qemuMessage || null, ...common });
    }
    const p = c.progress;
    if (!p.firmwareDone) {
      return done(qemu, {
        status: 'unavailable',
        reason: `SeaBIOS did not finish its POST under KVM within ${firmwareDeadlineMs / 1000} s (${describeProgress(p)})${said}${nestedNote}`,
        qemuMessage: null,
        ...common,
      });
    }
    const how =
      p.panicLine !== null
        ? `the guest kernel panicked (${p.panicLine})`
        : c.exitCode !== null && !c.killedByHarness
          ? `QEMU exited (status ${c.exitCode}) before the guest reached its init`
          : !p.kernelStarted
            ? `the guest kernel printed nothing in the ${deadlineMs / 1000} s after that`
            : `the guest kernel started but did not reach its init in the ${deadlineMs / 1000} s after that`;
    return done(qemu, {
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

/** The probe for this host and QEMU binary, run once per process (concurrent callers share the one boot). */
export function probeKvm(tools: ProvisionedToolchain, options: KvmProbeOptions = {}): Promise<KvmProbeResult> {
  // Per machine: another host's probe boots that host's QEMU, whatever this toolchain's binary is.
  const host = options.host ?? localHost;
  const key = `${host.label}\u0000${isThisMachine(host) ? tools.qemu.binary : 'its own QEMU'}\u0000${JSON.stringify(tools.qemu.env ?? {})}`;
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
    ...(r.host !== localHost.label ? [`host: ${r.host}`] : []),
    `kvm: ${r.status} — ${r.reason}`,
    `qemu: ${r.qemu.version} (${r.qemu.binary})`,
  ];
  if (r.argv) lines.push(`probe: ${shellQuote(r.argv)}`);
  if (r.progress) {
    lines.push(`probe boot: ${describeProgress(r.progress)}; ${(r.elapsedMs / 1000).toFixed(1)} s (SeaBIOS had ${r.firmwareDeadlineMs / 1000} s, then the kernel ${r.deadlineMs / 1000} s)`);
  }
  for (const l of r.stderr) lines.push(`qemu stderr: ${l}`);
  if (r.nested !== null) lines.push(`host CPU: ${r.nested ? 'hypervisor flag set (the host is a guest itself: nested KVM)' : 'no hypervisor flag (bare metal KVM)'}`);
  const consequence: Record<KvmStatus, string> = {
    full: 'KVM cells capture every layer, like TCG cells',
    'firmware-only': 'KVM cells run with capture scope firmware: the firmware layer is compared, the kernel layer is excluded (this reason is in each result)',
    unavailable: 'KVM cells end in a harness error (KvmUnavailable) naming this reason',
  };
  lines.push(`so: ${consequence[r.status]}`);
  return lines.join('\n');
}
