// Typed provisioning errors. Each message says what to do, and carries the fields a caller
// (CLI, CI) needs to act on it without parsing the text.

export class ProvisionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** Host tools are missing (or unusable) and we may not install them ourselves. */
export class HostToolsMissingError extends ProvisionError {
  constructor(
    /** What is missing, e.g. "qemu-system-x86_64 (not on PATH)". */
    readonly missing: readonly string[],
    /** Debian packages that provide them. */
    readonly packages: readonly string[],
    /** The exact command that installs them. */
    readonly command: string,
    reason: string,
  ) {
    super(
      `missing host tools: ${missing.join('; ')}. ${reason} ` +
        `Install the Debian packages ${packages.join(', ')} as root:\n  ${command}\n` +
        `or point at existing ones (qemu, seabiosDir options).`,
    );
    this.name = 'HostToolsMissingError';
  }
}

/** An apt/dpkg command failed. */
export class AptError extends ProvisionError {
  constructor(
    readonly command: string,
    readonly exitCode: number | null | undefined,
    readonly stderr: string,
    hint: string,
  ) {
    const tail = stderr.trim().split('\n').slice(-5).join('\n  ');
    super(`${command} failed (exit ${exitCode ?? 'signal'}): ${hint}${tail ? `\n  ${tail}` : ''}`);
    this.name = 'AptError';
  }
}

/** apt knows no package by this name (even after apt-get update, where that was possible). */
export class KernelPackageNotFoundError extends ProvisionError {
  constructor(
    readonly packageName: string,
    hint: string,
  ) {
    super(`kernel package ${JSON.stringify(packageName)} not found through apt: ${hint}`);
    this.name = 'KernelPackageNotFoundError';
  }
}

/** The kernel package (or a user-given kernel) does not have what the guest needs. */
export class KernelContentError extends ProvisionError {
  constructor(
    readonly source: string,
    reason: string,
  ) {
    super(`${source}: ${reason}`);
    this.name = 'KernelContentError';
  }
}

/**
 * A cache entry's files no longer match what was recorded when it was made (cut short, overwritten,
 * deleted, or no manifest at all). Provisioning reports it as progress and rebuilds the entry; it is
 * thrown only when the rebuilt entry is damaged too (the disk or the archive is at fault).
 */
export class CacheEntryDamagedError extends ProvisionError {
  constructor(
    /** The entry's path (a directory, or the file itself for an initramfs image). */
    readonly entry: string,
    /** The damaged file, relative to the entry. */
    readonly file: string,
    readonly reason: string,
    readonly rebuilt: boolean,
  ) {
    super(
      rebuilt
        ? `cache entry ${entry} is still damaged after rebuilding it: ${file} ${reason}. Check the disk (dmesg, df) and delete ${entry} before the next run`
        : `cache entry ${entry} is damaged: ${file} ${reason}; it will be rebuilt`,
    );
    this.name = 'CacheEntryDamagedError';
  }
}

/** Another live process kept a provisioning lock of the cache for longer than we wait. */
export class CacheLockTimeoutError extends ProvisionError {
  constructor(
    readonly lock: string,
    /** Who holds it, e.g. "pid 4242 on host x (kernel sid), since 2025-…". */
    readonly holder: string,
    readonly waitedMs: number,
  ) {
    super(
      `gave up after ${Math.round(waitedMs / 1000)} s waiting for the cache lock ${lock}, held by ${holder}: ` +
        'another e820 run is provisioning the same entry; let it finish (or stop it) and run again',
    );
    this.name = 'CacheLockTimeoutError';
  }
}

/** apt/dpkg could not take its own lock: another package manager run holds it (not a mirror problem). */
export class AptLockError extends ProvisionError {
  constructor(
    readonly command: string,
    /** The lock file apt named, e.g. /var/lib/dpkg/lock-frontend. */
    readonly lock: string,
    /** "process 4242 (apt-get)" when apt said, else null. */
    readonly holder: string | null,
    readonly waitedMs: number,
  ) {
    super(
      `${command}: apt's lock ${lock} is held by ${holder ?? 'another process'}; waited ${Math.round(waitedMs / 1000)} s. ` +
        'Let that apt/dpkg run finish (or stop it) and run again; E820_APT_LOCK_TIMEOUT (seconds) sets how long to wait',
    );
    this.name = 'AptLockError';
  }
}
