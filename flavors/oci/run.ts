/**
 * One RUN step in a stage's root filesystem, daemonless (as buildah's chroot isolation and
 * kaniko do it): util-linux `unshare` makes fresh mount, PID, network, UTS and IPC namespaces;
 * inside them a small host shell script mounts /proc, a read-only /sys and a minimal /dev
 * (tmpfs with null, zero, full, random, urandom and tty bound from the host, /dev/shm), sets
 * BuildKit's hostname (buildkitsandbox), brings the new namespace's loopback up, and execs the command with only the image's environment
 * (`env -i`), docker's default capability set (`setpriv --bounding-set`) and, chrooted, in the
 * working directory as the USER (`unshare --root --wd --setuid --setgid`). The fresh network
 * namespace has no route out: no network, like `--network=none`. The mounts live in the
 * private mount namespace and vanish with it, so the root directory holds only files.
 *
 * Foreign platforms run through the kernel's binfmt_misc handlers (qemu-user-static, with the F
 * flag the interpreter needs no file inside the root); a missing handler is refused before
 * anything runs. It needs root: a chroot and mounts (checked by `runProblems`).
 *
 * Like buildah's chroot isolation, a chroot is not a security boundary against a hostile RUN as
 * root with CAP_SYS_CHROOT: build only Dockerfiles and bases you trust.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync } from "node:fs";
import { BINFMT_DIR, emulationProblem, hostPlatform } from "../../src/emulation.ts";
import { CancelledError, InputError, RuntimeError, type Location } from "../../src/errors.ts";
import { exec, ExecError } from "../../src/exec.ts";
import { platformString, type Platform } from "../../src/platform.ts";
import { resolveInRoot } from "./rootfs.ts";

/** A RUN instruction, evaluated: what to execute and how. */
export interface RunOp {
  /** The command: the shell form wrapped in the image's SHELL, or the exec form as written. */
  argv: string[];
  /** KEY=VALUE: the image's Env, then the stage's ARGs that Env does not set. */
  env: string[];
  workdir: string;
  /** The image's USER ("" = root). */
  user: string;
  /** `RUN --mount=type=secret`, in order. */
  secrets: SecretMount[];
}

/** A build secret as a read-only file at `target` for the one step (BuildKit's defaults: /run/secrets/ID, 0400, root). */
export interface SecretMount {
  id: string;
  /** Absolute path in the container. */
  target: string;
  /** Fail when the build has no secret of this id (else the step runs without the file). */
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}

/** A host file bound read-only at `target` (a path of the root, resolved inside it, already a plain file). */
export interface FileBind {
  source: string;
  target: string;
}

export interface RunInRoot {
  root: string;
  op: RunOp;
  platform: Platform;
  /** `file:line` of the RUN, and the stage, for messages. */
  location: Location;
  stage: string;
  /** Secret files to bind (see run_secrets.ts), and their values, never shown in output or errors. */
  binds: readonly FileBind[];
  redact: readonly string[];
  signal: AbortSignal;
  log(line: string): void;
}

/** Docker's default capabilities for a container (moby oci/caps/defaults.go). */
const DEFAULT_CAPS = ["chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "net_bind_service", "net_raw", "sys_chroot", "mknod", "audit_write", "setfcap"];

/** The directories the sandbox mounts over; made (empty) when the image has none. */
export const MOUNT_POINTS = ["proc", "sys", "dev"];

const SANDBOX_FAILED = "imgb-sandbox:";

/**
 * $1 = root, $2 = N, then N pairs (host file, path in the root) to bind read-only; then the
 * command that enters the root. Paths come as arguments, never spliced into the text.
 */
const SANDBOX_SCRIPT = `
fail() { echo "${SANDBOX_FAILED} $*" >&2; exit 125; }
root=$1; n=$2; shift 2
# The root as a mount of its own, executable whatever TMPDIR's mount options (noexec, nosuid).
mount --bind "$root" "$root" && mount -o remount,bind,exec,suid "$root" || fail "binding the root failed"
while [ "$n" -gt 0 ]; do
  mount --bind "$1" "$root/$2" && mount -o remount,bind,ro "$root/$2" || fail "binding a secret at /$2 failed"
  shift 2; n=$((n - 1))
done
mount -t proc -o nosuid,nodev,noexec proc "$root/proc" || fail "mounting /proc failed"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys" || fail "mounting /sys failed"
mount -t tmpfs -o nosuid,mode=755,size=65536k tmpfs "$root/dev" || fail "mounting /dev failed"
for d in null zero full random urandom tty; do
  : > "$root/dev/$d" && mount --bind "/dev/$d" "$root/dev/$d" || fail "binding /dev/$d failed"
done
mkdir -m 1777 "$root/dev/shm" && mount -t tmpfs -o nosuid,nodev,noexec,mode=1777 shm "$root/dev/shm" || fail "mounting /dev/shm failed"
ln -s /proc/self/fd "$root/dev/fd" && ln -s /proc/self/fd/0 "$root/dev/stdin" && ln -s /proc/self/fd/1 "$root/dev/stdout" && ln -s /proc/self/fd/2 "$root/dev/stderr" || fail "linking /dev/fd failed"
# The new UTS namespace starts with the host's name: BuildKit's fixed one instead.
echo buildkitsandbox > "$root/proc/sys/kernel/hostname" || fail "setting the hostname failed"
if command -v ip >/dev/null 2>&1; then ip link set lo up || fail "bringing up the loopback interface failed"; fi
exec "$@"
`;

const TOOLS = { unshare: "util-linux", setpriv: "util-linux", env: "coreutils", mount: "mount", sh: "dash or bash" } as const;

/** Why RUN steps cannot run here: what is missing, and the fix. */
export interface RunProblem {
  message: string;
  hint: string;
}

/**
 * Why RUN steps cannot run here for these platforms: not root, a missing tool, a foreign
 * platform without an emulator. Cheap: reads /proc/sys/fs/binfmt_misc and PATH only.
 */
export function runProblems(platforms: readonly Platform[], uid: number | undefined = process.getuid?.()): RunProblem[] {
  return [...hostProblems(uid), ...platforms.flatMap((p) => emulationProblems(p))];
}

/** Not root, or a tool missing: whatever the platform. */
export function hostProblems(uid: number | undefined = process.getuid?.()): RunProblem[] {
  const out: RunProblem[] = [];
  if (uid !== 0) {
    out.push({
      message: `The 'oci' flavor runs RUN steps as root only (a chroot and mounts in private namespaces): imgb runs as uid ${uid ?? "unknown"}`,
      hint: "run imgb as root (sudo), or use the podman or buildah flavor, which build rootless",
    });
  }
  for (const [tool, pkg] of Object.entries(TOOLS)) {
    if (!Bun.which(tool, { PATH: searchPath() })) out.push({ message: `The 'oci' flavor needs '${tool}' to run RUN steps, and it is not on PATH`, hint: `install ${pkg}` });
  }
  return out;
}

/** No emulator for a foreign platform (src/emulation.ts; `binfmtDir` for tests), as message and fix. */
export function emulationProblems(platform: Platform, binfmtDir: string = BINFMT_DIR): RunProblem[] {
  const problem = emulationProblem(platform, hostPlatform(), binfmtDir);
  if (!problem) return [];
  const split = problem.indexOf("; ");
  return [split < 0 ? { message: problem, hint: "install qemu-user-static" } : { message: problem.slice(0, split), hint: problem.slice(split + 2) }];
}

function searchPath(): string {
  return `${process.env.PATH ?? ""}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

/** Make sure the sandbox's mount points are plain directories of the root (before the "before" snapshot). */
export function prepareMountPoints(root: string): void {
  for (const name of MOUNT_POINTS) {
    const abs = `${root}/${name}`;
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      st = lstatSync(abs);
    } catch {
      mkdirSync(abs, { mode: 0o755 });
      continue;
    }
    if (!st.isDirectory()) {
      throw new RuntimeError("oci.run-mountpoint", `The stage's /${name} is ${st.isSymbolicLink() ? "a symbolic link" : "not a directory"}: RUN mounts its own /${name} there`, { hint: "use a base image whose /proc, /sys and /dev are directories" });
    }
  }
}

/** Create the working directory (root-owned, like docker) inside the root; after the "before" snapshot, so the layer has it. */
export function makeWorkdir(root: string, workdir: string): void {
  const rel = resolveInRoot(root, workdir, true);
  if (rel === "") return;
  try {
    mkdirSync(`${root}/${rel}`, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new RuntimeError("oci.run-workdir", `The working directory ${JSON.stringify(workdir)} cannot be created in the stage: ${(e as Error).message}`);
  }
}

/** Run the step in `root` (prepared by the caller); throws on a non-zero exit, naming the platform. */
export async function runInRoot(r: RunInRoot): Promise<void> {
  const problems = runProblems([r.platform]);
  if (problems[0]) throw new RuntimeError("oci.run-unavailable", problems[0].message, { hint: problems[0].hint });
  const user = resolveUser(r.root, r.op.user, r.location);
  const enter = ["--root", r.root, "--wd", r.op.workdir, ...(user ? ["--setgid", String(user.gid), "--setuid", String(user.uid)] : []), "--"];
  const argv = [
    "unshare", "--mount", "--pid", "--fork", "--kill-child", "--net", "--uts", "--ipc", "--",
    "sh", "-c", SANDBOX_SCRIPT, "imgb-run", r.root, String(r.binds.length), ...r.binds.flatMap((b) => [b.source, b.target]),
    "env", "-i", ...r.op.env,
    "setpriv", `--bounding-set=-all,${DEFAULT_CAPS.map((c) => `+${c}`).join(",")}`, "--",
    "unshare", ...enter, ...r.op.argv,
  ];
  const what = `RUN for ${platformString(r.platform)} in stage ${r.stage} (${r.location.file}:${r.location.line})`;
  try {
    await exec(argv, {
      env: { PATH: searchPath() },
      signal: r.signal,
      killTree: true,
      killGraceMs: 2000,
      onStdout: r.log,
      onStderr: r.log,
      tailLines: 10,
      redact: r.redact,
      installHint: "install util-linux",
    });
  } catch (e) {
    if (e instanceof CancelledError) throw e;
    if (!(e instanceof ExecError)) throw e;
    if (e.tail.some((l) => l.startsWith(SANDBOX_FAILED))) {
      throw e.reframe("oci.run-sandbox", `Could not set up the sandbox for ${what}`, "imgb must run as root on Linux with util-linux; see the lines above");
    }
    const how = e.signal ? `was killed by ${e.signal}` : `failed with exit code ${e.exitStatus}`;
    throw e.reframe("oci.run-failed", `${what} ${how}: ${JSON.stringify(r.op.argv.join(" "))}`, "the command's last output lines are shown above");
  }
}

/** USER name|uid[:group|gid] -> ids from the stage's /etc/passwd and /etc/group (as docker: a uid not listed gets gid 0). */
export function resolveUser(root: string, user: string, location: Location): { uid: number; gid: number } | undefined {
  if (user === "") return undefined;
  const [name = "", group] = user.split(":");
  const numeric = (s: string) => /^\d+$/.test(s);
  const passwd = readDb(root, "etc/passwd");
  let uid: number;
  let gid = 0;
  const byName = passwd.find((f) => f[0] === name);
  if (numeric(name)) {
    uid = Number(name);
    const entry = passwd.find((f) => f[2] === name);
    if (entry) gid = Number(entry[3]);
  } else if (byName) {
    uid = Number(byName[2]);
    gid = Number(byName[3]);
  } else {
    throw new InputError("oci.run-user", `USER ${JSON.stringify(user)}: user ${JSON.stringify(name)} is not in the stage's /etc/passwd`, { location, hint: "use numeric ids (USER 1000:1000), or add the user in an earlier RUN" });
  }
  if (group !== undefined && group !== "") {
    if (numeric(group)) gid = Number(group);
    else {
      const entry = readDb(root, "etc/group").find((f) => f[0] === group);
      if (!entry) throw new InputError("oci.run-user", `USER ${JSON.stringify(user)}: group ${JSON.stringify(group)} is not in the stage's /etc/group`, { location, hint: "use a numeric gid" });
      gid = Number(entry[2]);
    }
  }
  return { uid, gid };
}

function readDb(root: string, path: string): string[][] {
  const abs = `${root}/${resolveInRoot(root, path, true)}`;
  if (!existsSync(abs)) return [];
  return readFileSync(abs, "utf8")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}
