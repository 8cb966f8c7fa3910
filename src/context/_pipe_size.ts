/**
 * A pipe's capacity (Linux F_GETPIPE_SZ / F_SETPIPE_SZ), through libc's fcntl (_libc.ts):
 * neither node:fs nor Bun has an API for it.
 *
 * Why (issue #18): a pipe holds 64 KiB by default, so `imgb context -o - | cat` woke the reader
 * for every 64 KiB and the two took turns; with the pipe at 1 MiB (the kernel's default
 * /proc/sys/fs/pipe-max-size for unprivileged processes), the same run took 0.81-0.85 s against
 * 1.07-1.08 s (40,000 small files, one run of three pairs). The reader is not affected: a pipe's
 * capacity is the buffer between the two ends, nothing else.
 *
 * Best effort: where libc cannot be loaded (a static binary, no FFI), or the kernel refuses (a
 * user over the pipe-user-pages-soft limit gets EPERM), the pipe is left as it was: slower,
 * never wrong.
 */
import { libc } from "./_libc.ts";

const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;

/** What imgb asks for: the default unprivileged maximum. */
export const PIPE_CAPACITY = 1 << 20;

/** The capacity of the pipe `fd` is an end of, in bytes; undefined when it cannot be told. */
export function pipeCapacity(fd: number): number | undefined {
  const c = libc();
  const n = c ? c.fcntl(fd, F_GETPIPE_SZ, 0) : -1;
  return n > 0 ? n : undefined;
}

/** Grow the pipe `fd` is an end of to `bytes` (never shrink it). Returns its capacity after, if known. */
export function widenPipe(fd: number, bytes = PIPE_CAPACITY): number | undefined {
  const now = pipeCapacity(fd);
  if (now === undefined || now >= bytes) return now;
  const set = libc()!.fcntl(fd, F_SETPIPE_SZ, bytes);
  return set > 0 ? set : now;
}
