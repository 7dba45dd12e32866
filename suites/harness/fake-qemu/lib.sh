# Sourced by the fake QEMUs: finds the log files in the harness's argv the way QEMU would
# (-serial file:PATH, -chardev file,id=…,path=PATH) and records our pids for the tests.
SERIAL=/dev/null
FIRMWARE=/dev/null
prev=
for a in "$@"; do
  case "$prev" in
    -serial) case "$a" in file:*) SERIAL=${a#file:} ;; esac ;;
    -chardev) case "$a" in file,*path=*) FIRMWARE=${a##*path=} ;; esac ;;
  esac
  prev=$a
done
HERE=$(dirname "$0")
# The tests check these pids are gone after teardown.
record_pid() { [ -n "$FAKE_QEMU_PIDFILE" ] && echo "$1" >>"$FAKE_QEMU_PIDFILE"; return 0; }
record_pid $$
# Like QEMU: the files exist (truncated) as soon as the chardevs are opened.
: >"$SERIAL"
: >"$FIRMWARE"
# Sleeps in a child process, so killing only the leader would leave it behind.
hang() { sleep 1000 & record_pid $!; wait; }
