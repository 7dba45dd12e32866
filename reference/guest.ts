// The kernel arguments the harness always passes in front of the user's `-append`. The kernel
// stage parses the whole command line, so the model and the harness share this one constant.
export const GUEST_FIXED_KERNEL_ARGS = 'console=ttyS0 panic=-1';

export function guestKernelCommandLine(userArgs: string): string {
  const user = userArgs.trim();
  return user === '' ? GUEST_FIXED_KERNEL_ARGS : `${GUEST_FIXED_KERNEL_ARGS} ${user}`;
}
