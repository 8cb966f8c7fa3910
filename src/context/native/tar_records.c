/*
 * The tar writer's per-file loop in C (issue #18; src/context/_native.ts compiles it with
 * bun:ffi's TinyCC when the writer first needs it).
 *
 * tar_records writes the records of a run of plain entries into the output chunk: for each, its
 * ustar header and, for a regular file, its content read from disk and padded to 512 bytes. The
 * TypeScript side (tar.ts) chooses the entries (ASCII names that fit a ustar header, no PAX
 * record, a record that fits the chunk), and does everything else: PAX records, inline
 * content, files bigger than the chunk, and every failure.
 *
 * Failure is never handled here: at the first entry that cannot be done (a file that cannot be
 * opened or read, or that changed since the walk, or a name ustar cannot hold), the function
 * stops and returns how many entries it wrote; the caller does that entry through its own code,
 * which reports what went wrong with the usual error or, if the cause went away, writes it.
 *
 * No #include and nothing linked: a minimal container has no C headers and no libc.so for a
 * linker (only libc.so.6), so the libc functions are pointers the caller gives once
 * (tar_records_init: their addresses from bun:ffi's dlopen of the process's libc, glibc or
 * musl). Linux x86_64 or aarch64: an LP64 ABI, where long is 64 bits.
 */
typedef unsigned long size_t;
typedef long ssize_t;
/* libc's functions, given by tar_records_init (see the top: nothing is linked). */
static int (*open)(const char *path, int flags, ...);
static ssize_t (*read)(int fd, void *buf, size_t n);
static int (*close)(int fd);
static int (*statx)(int dirfd, const char *path, int flags, unsigned int mask, void *buf);
static void *(*memcpy)(void *to, const void *from, size_t n);
static void *(*memset)(void *to, int c, size_t n);

/* The libc functions above, in that order (their addresses, from the process's libc). */
int tar_records_init(void **fns) {
  open = fns[0];
  read = fns[1];
  close = fns[2];
  statx = fns[3];
  memcpy = fns[4];
  memset = fns[5];
  return 6;
}

#define O_RDONLY_CLOEXEC 02000000
#define AT_EMPTY_PATH 0x1000
#define STATX_BASIC_STATS 0x7ff

/* Per entry, META doubles (tar.ts NATIVE_META): */
#define M_TYPE 0      /* '0' file, '1' hard link, '2' symlink, '5' directory (the typeflag byte) */
#define M_MODE 1      /* permission bits */
#define M_SIZE 2      /* the file's size (0 for others) */
#define M_STAMPED 3   /* 1: ino, mtime and ctime below are the walk's, to check after reading */
#define M_INO 4       /* -1: not recorded (not checked) */
#define M_MTIME 5     /* ms, as node:fs computes them: sec * 1000 + nsec / 1e6 */
#define M_CTIME 6
#define M_NAME 7      /* the name's offset and length in the byte blob */
#define M_NAME_LEN 8
#define M_LINK 9      /* the link target's offset and length (length -1: none) */
#define M_LINK_LEN 10
#define M_SOURCE 11   /* the source path's offset (NUL-terminated; -1: none) */
#define META 12

static void octal(unsigned char *at, int width, unsigned long long v) {
  for (int i = width - 2; i >= 0; i--) {
    at[i] = (unsigned char)('0' + (v & 7));
    v >>= 3;
  }
  at[width - 1] = 0;
}

static int copy(unsigned char *to, const unsigned char *from, int n) {
  int sum = 0;
  for (int i = 0; i < n; i++) {
    to[i] = from[i];
    sum += from[i];
  }
  return sum;
}

static int sum_of(const unsigned char *at, int n) {
  int sum = 0;
  for (int i = 0; i < n; i++) sum += at[i];
  return sum;
}

/*
 * The ustar header of entry `m` at `h` (the template: owner, mtime, magic, and the checksum
 * field as spaces, summing to `tsum`). 0 when the name does not fit: not ASCII, or no split
 * into a prefix of at most 155 bytes and a name of at most 100 (not empty), at a '/', searched
 * from the right.
 */
static int header(unsigned char *h, const unsigned char *tmpl, int tsum, const unsigned char *blob, const double *m) {
  const unsigned char *name = blob + (long)m[M_NAME];
  int len = (int)m[M_NAME_LEN];
  /* ASCII without NUL, or a PAX record is needed: the caller's. */
  for (int i = 0; i < len; i++)
    if (name[i] == 0 || name[i] >= 0x80) return 0;
  int cut = -1; /* the '/' between prefix and name */
  if (len > 100) {
    for (int i = len - 1; i > 0; i--) {
      if (name[i] != '/') continue;
      int rest = len - i - 1;
      if (rest > 100) break;
      if (i <= 155 && rest > 0 && !(rest == 1 && name[len - 1] == '/')) {
        cut = i;
        break;
      }
    }
    if (cut < 0) return 0;
  }
  memcpy(h, tmpl, 512);
  int sum = tsum;
  if (cut < 0) sum += copy(h, name, len);
  else {
    sum += copy(h, name + cut + 1, len - cut - 1);
    sum += copy(h + 345, name, cut);
  }
  octal(h + 100, 8, (unsigned long long)m[M_MODE]);
  octal(h + 124, 12, (unsigned long long)m[M_SIZE]);
  sum += sum_of(h + 100, 8) + sum_of(h + 124, 12);
  h[156] = (unsigned char)m[M_TYPE];
  sum += h[156];
  if (m[M_LINK_LEN] >= 0) sum += copy(h + 157, blob + (long)m[M_LINK], (int)m[M_LINK_LEN]);
  octal(h + 148, 7, (unsigned long long)sum); /* six digits and a NUL; the space at 155 stays */
  return 1;
}

/* The file's content at `to` (exactly `size` bytes), checked against the walk: 0 on any failure or change. */
static int content(unsigned char *to, const char *path, const double *m) {
  unsigned long long size = (unsigned long long)m[M_SIZE];
  unsigned char sx[256];
  int fd = open(path, O_RDONLY_CLOEXEC);
  if (fd < 0) return 0;
  unsigned long long got = 0;
  while (got < size) {
    ssize_t r = read(fd, to + got, size - got);
    if (r <= 0) {
      close(fd);
      return 0;
    }
    got += (unsigned long long)r;
  }
  /* One statx after the last read: a file that grew shows in its size, a rewrite in its ctime. */
  int ok = statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, sx) == 0;
  close(fd);
  if (!ok || *(unsigned long long *)(sx + 40) != size) return 0;
  if (m[M_STAMPED] != 0) {
    /* struct statx: ino u64 @32, ctime {i64 sec @96, u32 nsec @104}, mtime {@112, @120}. */
    double ino = (double)*(unsigned long long *)(sx + 32);
    double ctime = (double)*(long long *)(sx + 96) * 1000.0 + (double)*(unsigned int *)(sx + 104) / 1e6;
    double mtime = (double)*(long long *)(sx + 112) * 1000.0 + (double)*(unsigned int *)(sx + 120) / 1e6;
    if ((m[M_INO] >= 0 && ino != m[M_INO]) || ctime != m[M_CTIME] || mtime != m[M_MTIME]) return 0;
  }
  return 1;
}

/*
 * Write entries 0..n-1 (meta: META doubles each; names, links and sources in `blob`) at
 * out[pos...]; the caller made sure every record fits. Returns how many were written; *end is
 * where the last one ends.
 */
int tar_records(unsigned char *out, int pos, const unsigned char *blob, const double *meta, int n, const unsigned char *tmpl, int tsum, int *end) {
  int i = 0;
  for (; i < n; i++) {
    const double *m = meta + i * META;
    unsigned char *h = out + pos;
    if (!header(h, tmpl, tsum, blob, m)) break;
    int size = (int)m[M_SIZE];
    if (m[M_SOURCE] >= 0 && !content(h + 512, (const char *)blob + (long)m[M_SOURCE], m)) break;
    int padded = (size + 511) & ~511;
    if (padded > size) memset(h + 512 + size, 0, padded - size);
    pos += 512 + padded;
  }
  *end = pos;
  return i;
}
