/*
 * The walk's directory read in C (issue #18; src/context/_native.ts compiles it with the tar
 * writer's loop): a directory's names, sorted in byte order, each with its lstat, in one call.
 *
 * What it saves the walk (_walk_cursor.ts): a string per name from readdir and a sort of them in
 * JavaScript, and per name a path made and encoded and a statx through bun:ffi. The statx is
 * relative to the directory's descriptor, as GNU tar's fstatat: the kernel looks up one name,
 * not every component of the path again.
 *
 * Nothing is decided here: a name whose statx fails gets mode -1, and the walk lstat()s it
 * itself, with its usual errors (a vanished file, a name that is not UTF-8).
 *
 * No #include, nothing linked (see tar_records.c). struct dirent is the same on glibc and musl, x86_64 and
 * aarch64: d_ino, d_off (8 bytes each), d_reclen (2), d_type (1), then d_name.
 */
typedef unsigned long size_t;
/* libc's functions, given by read_dir_init (nothing is linked: see tar_records.c). */
static void *(*opendir)(const char *path);
static void *(*readdir)(void *dir);
static int (*closedir)(void *dir);
static int (*dirfd)(void *dir);
static int (*statx)(int dirfd, const char *path, int flags, unsigned int mask, void *buf);
static int (*strcmp)(const char *a, const char *b);
static size_t (*strlen)(const char *s);
static void *(*memcpy)(void *to, const void *from, size_t n);
static int *(*__errno_location)(void);

/* The libc functions above, in that order. */
int read_dir_init(void **fns) {
  opendir = fns[0];
  readdir = fns[1];
  closedir = fns[2];
  dirfd = fns[3];
  statx = fns[4];
  strcmp = fns[5];
  strlen = fns[6];
  memcpy = fns[7];
  __errno_location = fns[8];
  return 9;
}

#define AT_SYMLINK_NOFOLLOW 0x100
#define STATX_BASIC_STATS 0x7ff
#define D_NAME 19

/* Per name, STAT doubles (_native.ts DIR_META): */
#define S_NAME 0   /* offset of the name (NUL-terminated) in the names buffer */
#define S_LEN 1    /* its length in bytes */
#define S_MODE 2   /* st_mode, -1: not stat'ed */
#define S_NLINK 3
#define S_INO 4
#define S_SIZE 5
#define S_MTIME 6  /* ms, as node:fs computes them */
#define S_CTIME 7
#define S_DEV 8    /* glibc's makedev of the major and minor, as node:fs's dev */
#define STAT 9

/* Sort `order` (indices of names) by strcmp: a merge sort, stable, through `tmp`. */
static void sort(int *order, int *tmp, int n, const unsigned char *names, const double *meta) {
  for (int width = 1; width < n; width *= 2) {
    for (int lo = 0; lo < n; lo += 2 * width) {
      int mid = lo + width < n ? lo + width : n;
      int hi = lo + 2 * width < n ? lo + 2 * width : n;
      int i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        const char *a = (const char *)names + (long)meta[order[i] * STAT + S_NAME];
        const char *b = (const char *)names + (long)meta[order[j] * STAT + S_NAME];
        tmp[k++] = strcmp(a, b) <= 0 ? order[i++] : order[j++];
      }
      while (i < mid) tmp[k++] = order[i++];
      while (j < hi) tmp[k++] = order[j++];
    }
    for (int k = 0; k < n; k++) order[k] = tmp[k];
  }
}

/*
 * Read the directory `path`: names into `names` (at most `cap` bytes), STAT doubles per name
 * into `meta` (at most `max` names), and the names' indices in byte order into order[0..n-1]
 * (order has room for 2 * max: the second half is the sort's scratch). Returns the number of
 * names; -1 if the directory cannot be opened or read (errno in *err: the walk reads it again
 * itself, for its error); -2 if the buffers are too small (*err: the bytes of names needed so
 * far, a lower bound: the caller grows both and calls again).
 */
int read_dir(const char *path, unsigned char *names, int cap, double *meta, int max, int *order, int *err) {
  void *dir = opendir(path);
  if (dir == 0) {
    *err = *__errno_location();
    return -1;
  }
  int fd = dirfd(dir);
  unsigned char sx[256];
  int n = 0;
  int used = 0;
  int full = 0;
  for (;;) {
    *__errno_location() = 0;
    unsigned char *d = readdir(dir);
    if (d == 0) break;
    const char *name = (const char *)d + D_NAME;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    int len = (int)strlen(name);
    if (full || n == max || used + len + 1 > cap) {
      full = 1;
      used += len + 1;
      continue;
    }
    memcpy(names + used, name, len + 1);
    double *m = meta + n * STAT;
    m[S_NAME] = used;
    m[S_LEN] = len;
    used += len + 1;
    if (statx(fd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, sx) != 0) m[S_MODE] = -1;
    else {
      /* struct statx: nlink u32 @16, mode u16 @28, ino u64 @32, size u64 @40, ctime {i64 @96,
         u32 @104}, mtime {@112, @120}, dev_major u32 @136, dev_minor @140. */
      unsigned int major = *(unsigned int *)(sx + 136);
      unsigned int minor = *(unsigned int *)(sx + 140);
      m[S_MODE] = *(unsigned short *)(sx + 28);
      m[S_NLINK] = *(unsigned int *)(sx + 16);
      m[S_INO] = (double)*(unsigned long long *)(sx + 32);
      m[S_SIZE] = (double)*(unsigned long long *)(sx + 40);
      m[S_CTIME] = (double)*(long long *)(sx + 96) * 1000.0 + (double)*(unsigned int *)(sx + 104) / 1e6;
      m[S_MTIME] = (double)*(long long *)(sx + 112) * 1000.0 + (double)*(unsigned int *)(sx + 120) / 1e6;
      m[S_DEV] = (double)(((unsigned long long)(major & 0xfffff000u) << 32) | ((unsigned long long)(major & 0xfffu) << 8) | ((unsigned long long)(minor & 0xffffff00u) << 12) | (minor & 0xffu));
    }
    order[n] = n;
    n++;
  }
  int failed = *__errno_location();
  closedir(dir);
  if (failed != 0) {
    *err = failed;
    return -1;
  }
  if (full) {
    *err = used;
    return -2;
  }
  sort(order, order + max, n, names, meta);
  return n;
}
