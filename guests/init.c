/*
 * /init of the e820-conformance guest: mounts proc, sysfs and devtmpfs, prints each section of
 * guests/markers.ts between its markers on the console, then drains the console and powers off.
 *
 * Why a program and not a shell script: under TCG the first exec of a 2 MiB static busybox and
 * the ~20 applet processes of the script took 100-150 ms of every boot (docs/minimal-kernel.md,
 * **The guest's /init**); this program makes a few dozen system calls and no process at all.
 *
 * Freestanding (no libc: the guest has none, and a static libc's start-up is more code for TCG
 * to translate): raw x86-64 Linux system calls (arch/x86/entry/syscalls/syscall_64.tbl).
 * Built by guests/init-build.ts with the host's gcc; init-config.h is generated there from
 * guests/markers.ts and guests/init.ts, so the markers and paths have one source.
 *
 * What each section prints is what the busybox script before it printed (docs/minimal-kernel.md
 * names the commands): the section's output is gathered first and printed after BEGIN, ended by
 * a newline if it lacks one, then END with the section's own status.
 */

#include "init-config.h"

typedef unsigned long size_t;
typedef long ssize_t;

enum {
	SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_ioctl = 16, SYS_pause = 34,
	SYS_dup2 = 33, SYS_uname = 63, SYS_syslog = 103, SYS_sync = 162, SYS_mount = 165,
	SYS_reboot = 169, SYS_getdents64 = 217, SYS_finit_module = 313,
};
enum { O_RDONLY = 0, O_RDWR = 2, O_DIRECTORY = 0200000 };
/* include/linux/syslog.h */
enum { SYSLOG_ACTION_READ_ALL = 3, SYSLOG_ACTION_CONSOLE_LEVEL = 8, SYSLOG_ACTION_SIZE_BUFFER = 10 };
/* include/uapi/asm-generic/ioctls.h: TCSBRK with a non-zero argument is tcdrain(). */
enum { TCSBRK = 0x5409 };
/* include/uapi/linux/reboot.h */
#define LINUX_REBOOT_MAGIC1 0xfee1deadL
#define LINUX_REBOOT_MAGIC2 672274793L
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321fedcL

static long syscall5(long n, long a, long b, long c, long d, long e)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}
#define SYSCALL(n, a, b, c) syscall5((n), (long)(a), (long)(b), (long)(c), 0, 0)

/* gcc may emit calls to these even in freestanding code. */
void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}
void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

static size_t length(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

/* What one section prints. Sized for the largest: the kernel's whole log (busybox's bound, 16 MiB);
 * .bss pages are only allocated when touched. */
static char body[16 << 20];
static size_t body_len;

static void add(const char *s, size_t n)
{
	if (n > sizeof body - body_len)
		n = sizeof body - body_len;
	memcpy(body + body_len, s, n);
	body_len += n;
}
static void add_str(const char *s) { add(s, length(s)); }
static void add_number(unsigned long v)
{
	char digits[24];
	int i = sizeof digits;
	do
		digits[--i] = (char)('0' + v % 10);
	while (v /= 10);
	add(digits + i, sizeof digits - i);
}

/* Errors in strerror's words for what these calls can return; others by number. */
static void add_error(long err)
{
	static const struct { int no; const char *text; } known[] = {
		{ 1, "Operation not permitted" }, { 2, "No such file or directory" },
		{ 5, "Input/output error" }, { 8, "Exec format error" }, { 12, "Cannot allocate memory" },
		{ 13, "Permission denied" }, { 14, "Bad address" }, { 16, "Device or resource busy" },
		{ 17, "File exists" }, { 19, "No such device" }, { 20, "Not a directory" },
		{ 22, "Invalid argument" }, { 38, "Function not implemented" }, { 74, "Bad message" },
		{ 126, "Required key not available" }, { 129, "Key was rejected by service" },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (known[i].no == -err) {
			add_str(known[i].text);
			return;
		}
	}
	add_str("error ");
	add_number((unsigned long)-err);
}

/* Appends a command's error message: what failed, then strerror's words. */
static void add_failure(const char *what, long err)
{
	add_str(what);
	add_error(err);
	add_str("\n");
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		long w = SYSCALL(SYS_write, fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}
static void print(const char *s) { write_all(1, s, length(s)); }

/* Reads a whole file (at most cap bytes) into buf: its length, or a negative errno. */
static long read_whole(const char *path, char *buf, size_t cap)
{
	long fd = SYSCALL(SYS_open, path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	size_t len = 0;
	long n = 0;
	while (len < cap && (n = SYSCALL(SYS_read, fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	SYSCALL(SYS_close, fd, 0, 0);
	return n < 0 ? n : (long)len;
}

/* Appends the whole file to the body; 0, or 1 with cat's message when it cannot be read. */
static int add_file(const char *path)
{
	long n = read_whole(path, body + body_len, sizeof body - body_len);
	if (n < 0) {
		add_str("cat: ");
		add_str(path);
		add_failure(": ", n);
		return 1;
	}
	body_len += (size_t)n;
	return 0;
}

static int can_open(const char *path, int flags)
{
	long fd = SYSCALL(SYS_open, path, flags, 0);
	if (fd < 0)
		return 0;
	SYSCALL(SYS_close, fd, 0, 0);
	return 1;
}
static int is_directory(const char *path) { return can_open(path, O_RDONLY | O_DIRECTORY); }
static int file_exists(const char *path) { return can_open(path, O_RDONLY); }

/* `uname -r` */
static int section_uname(void)
{
	static struct { char field[6][65]; } uts;
	long err = SYSCALL(SYS_uname, &uts, 0, 0);
	if (err < 0) {
		add_failure("uname: ", err);
		return 1;
	}
	add_str(uts.field[2]);
	add_str("\n");
	return 0;
}

/* `cat /proc/cmdline` */
static int section_cmdline(void) { return add_file("/proc/cmdline"); }

/* `dmesg -r`: the ring buffer as the kernel hands it out, `<L>[ t ] text` per line
 * (kernel/printk/printk.c syslog_print_all), read whole as busybox's dmesg reads it. */
static int section_dmesg(void)
{
	long size = SYSCALL(SYS_syslog, SYSLOG_ACTION_SIZE_BUFFER, 0, 0);
	if (size < 16 * 1024)
		size = 16 * 1024;
	if (size > (long)sizeof body)
		size = sizeof body;
	long n = SYSCALL(SYS_syslog, SYSLOG_ACTION_READ_ALL, body, size);
	if (n < 0) {
		add_failure("dmesg: klogctl: ", n);
		return 1;
	}
	body_len = (size_t)n;
	return 0;
}

/* `cat /proc/iomem` (as root: the addresses are not hidden) */
static int section_iomem(void) { return add_file("/proc/iomem"); }

/* Appends the first line of a memmap entry's file, without its newline (`IFS= read -r`). */
static int add_first_line(const char *dir, const char *file)
{
	char path[128];
	size_t d = length(dir), f = length(file);
	if (d + 1 + f >= sizeof path)
		return 1;
	memcpy(path, dir, d);
	path[d] = '/';
	memcpy(path + d + 1, file, f + 1);
	long fd = SYSCALL(SYS_open, path, O_RDONLY, 0);
	if (fd < 0)
		return 1;
	char line[256];
	long n = SYSCALL(SYS_read, fd, line, sizeof line);
	SYSCALL(SYS_close, fd, 0, 0);
	if (n <= 0)
		return 1;
	long end = 0;
	while (end < n && line[end] != '\n')
		end++;
	add(line, (size_t)end);
	return 0;
}

/* /sys/firmware/memmap/N in numeric order of N, `N start end type` per entry
 * (drivers/firmware/memmap.c: one directory per entry, each file one line). */
static int section_memmap(void)
{
	static char entries[64 * 1024];
	static unsigned long index[4096];
	size_t count = 0;
	long fd = SYSCALL(SYS_open, "/sys/firmware/memmap", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		add_str(E820_UNAVAILABLE_PREFIX "/sys/firmware/memmap does not exist (CONFIG_FIRMWARE_MEMMAP off?)\n");
		return 0;
	}
	int rc = 0;
	long n;
	while ((n = SYSCALL(SYS_getdents64, fd, entries, sizeof entries)) > 0) {
		/* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[] */
		for (long at = 0; at < n;) {
			unsigned short reclen = *(const unsigned short *)(entries + at + 16);
			const char *name = entries + at + 19;
			at += reclen;
			if (name[0] == '.')
				continue;
			unsigned long v = 0;
			for (const char *p = name; *p; p++) {
				if (*p < '0' || *p > '9') {
					rc = 1; /* not an entry the kernel makes; said by its status */
					break;
				}
				v = v * 10 + (unsigned long)(*p - '0');
			}
			if (count < sizeof index / sizeof index[0])
				index[count++] = v;
			else
				rc = 1;
		}
	}
	SYSCALL(SYS_close, fd, 0, 0);
	if (n < 0)
		rc = 1;
	for (size_t i = 1; i < count; i++) {
		unsigned long v = index[i];
		size_t j = i;
		for (; j > 0 && index[j - 1] > v; j--)
			index[j] = index[j - 1];
		index[j] = v;
	}
	for (size_t i = 0; i < count; i++) {
		char dir[64] = "/sys/firmware/memmap/";
		size_t start = body_len;
		add_number(index[i]);
		size_t digits = body_len - start;
		memcpy(dir + 21, body + start, digits);
		dir[21 + digits] = 0;
		static const char *const files[] = { "start", "end", "type" };
		for (int f = 0; f < 3; f++) {
			add_str(" ");
			rc |= add_first_line(dir, files[f]);
		}
		add_str("\n");
	}
	return rc;
}

/* Why fw_cfg's etc/e820 cannot be read, or 0 when it can. */
static const char *fw_cfg_unavailable;

/* `od -An -v -tx1` of etc/e820: " xx" per byte, 16 bytes a line. */
static int section_fwcfg_e820(void)
{
	if (fw_cfg_unavailable) {
		add_str(E820_UNAVAILABLE_PREFIX);
		add_str(fw_cfg_unavailable);
		add_str("\n");
		return 0;
	}
	static unsigned char raw[64 * 1024];
	long len = read_whole(E820_FW_CFG_E820_PATH, (char *)raw, sizeof raw);
	if (len < 0) {
		add_failure("od: " E820_FW_CFG_E820_PATH ": ", len);
		return 1;
	}
	static const char hex[] = "0123456789abcdef";
	for (long i = 0; i < len; i++) {
		char byte[3] = { ' ', hex[raw[i] >> 4], hex[raw[i] & 15] };
		add(byte, 3);
		if (i % 16 == 15 || i == len - 1)
			add_str("\n");
	}
	return 0;
}

static void run_section(const char *name, int (*section)(void))
{
	body_len = 0;
	int rc = section();
	print(E820_MARKER_PREFIX " BEGIN ");
	print(name);
	print("\n");
	if (body_len > 0 && body[body_len - 1] != '\n')
		add_str("\n");
	write_all(1, body, body_len);
	print(E820_MARKER_PREFIX " END ");
	print(name);
	print(" rc=");
	print(rc ? "1\n" : "0\n");
}

static void mount_or_say(const char *type, const char *dir)
{
	long err = syscall5(SYS_mount, (long)type, (long)dir, (long)type, 0, 0);
	if (err < 0) {
		body_len = 0;
		add_str("init: mount -t ");
		add_str(type);
		add_str(" ");
		add_str(dir);
		add_failure(": ", err);
		write_all(2, body, body_len);
	}
}

static void find_fw_cfg(void)
{
#ifdef E820_FW_CFG_MODULE_PATH
	long fd = SYSCALL(SYS_open, E820_FW_CFG_MODULE_PATH, O_RDONLY, 0);
	long err = fd < 0 ? fd : SYSCALL(SYS_finit_module, fd, "", 0);
	if (fd >= 0)
		SYSCALL(SYS_close, fd, 0, 0);
	if (err < 0) {
		static char reason[256];
		body_len = 0;
		add_str("insmod qemu_fw_cfg failed: can't insert '" E820_FW_CFG_MODULE_PATH "': ");
		add_error(err);
		size_t n = body_len < sizeof reason - 1 ? body_len : sizeof reason - 1;
		memcpy(reason, body, n);
		reason[n] = 0;
		fw_cfg_unavailable = reason;
		return;
	}
	if (!is_directory("/sys/firmware/qemu_fw_cfg/by_name")) {
		fw_cfg_unavailable = "qemu_fw_cfg loaded but found no fw_cfg device (no ACPI QEMU0002 node: an old machine type, or ACPI off)";
		return;
	}
#else
	/* No module: the kernel may have it built in (the minimal kernel, CONFIG_FW_CFG_SYSFS=y). */
	if (!is_directory("/sys/firmware/qemu_fw_cfg/by_name")) {
		fw_cfg_unavailable = is_directory("/sys/firmware/qemu_fw_cfg")
			? "qemu_fw_cfg built in but found no fw_cfg device (no ACPI QEMU0002 node: an old machine type, or ACPI off)"
			: "the initramfs carries no qemu_fw_cfg module and the kernel has none built in";
		return;
	}
#endif
	if (!file_exists(E820_FW_CFG_E820_PATH))
		fw_cfg_unavailable = "fw_cfg has no etc/e820 item";
}

#define SECTION_ENTRY(name, function) { name, section_##function },
static const struct { const char *name; int (*run)(void); } sections[] = { E820_SECTIONS(SECTION_ENTRY) };

void init_main(void)
{
	mount_or_say("proc", "/proc");
	mount_or_say("sysfs", "/sys");
	mount_or_say("devtmpfs", "/dev");
	/* Only KERN_EMERG on the console from now on, so kernel lines never split ours. */
	SYSCALL(SYS_syslog, SYSLOG_ACTION_CONSOLE_LEVEL, 0, 1);
	long console = SYSCALL(SYS_open, "/dev/console", O_RDWR, 0);
	if (console >= 0) {
		for (int fd = 0; fd < 3; fd++)
			SYSCALL(SYS_dup2, console, fd, 0);
		if (console > 2)
			SYSCALL(SYS_close, console, 0, 0);
	}
	find_fw_cfg();
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
		run_section(sections[i].name, sections[i].run);
	print(E820_MARKER_PREFIX " DONE\n");
	/* Wait until the UART has sent everything, then power off (busybox's poweroff -f). */
	SYSCALL(SYS_ioctl, 1, TCSBRK, 1);
	SYSCALL(SYS_sync, 0, 0, 0);
	syscall5(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF, 0, 0);
	for (;;)
		SYSCALL(SYS_pause, 0, 0, 0);
}

/* The kernel enters with the stack pointer at argc; the ABI wants it 16-byte aligned at a call. */
__asm__(".globl _start\n"
	"_start:\n"
	"	xor %rbp, %rbp\n"
	"	and $-16, %rsp\n"
	"	call init_main\n"
	"	hlt\n");
