/**
 * RUN steps in the `oci` flavor (issue #14), through the compiled binary against the real
 * registry: a two-platform stack FROM the busybox-multi index pushes an index whose amd64 and
 * arm64 manifests carry the files the RUN steps wrote (`uname -m`: x86_64 vs aarch64 under
 * qemu; $TARGETARCH) and a whiteout for the base file one RUN deleted, all read back by GNU tar,
 * not by imgb; a FROM --platform=$BUILDPLATFORM stage runs natively; the sandbox (USER, WORKDIR, only the image's environment, no network, read-only
 * /sys, its own PID namespace); a RUN failing on one platform exits non-zero naming it and
 * pushes nothing; build secrets reach the step and no layer or output; Ctrl-C during a RUN leaves no process behind; a platform without an emulator is refused by validate at the RUN's line; the
 * stages' root filesystems are gone from TMPDIR after every build.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { E2E_TIMEOUT, MULTIARCH_BASE, REGISTRY, requireEngine, requireTool, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { canRun, emulationProblem, hostPlatform } from "../../src/emulation.ts";
import { exec } from "../../src/exec.ts";

afterAll(cleanupTempDirs);

const INDEX = "application/vnd.oci.image.index.v1+json";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const ARM64 = { os: "linux", architecture: "arm64" };

const S390X = { os: "linux", architecture: "s390x" };
const haveRegistry = await requireEngine("registry");
const asRoot = haveRegistry && (await requireTool("root", () => (process.getuid?.() === 0 ? undefined : "RUN in the oci flavor needs root")));
const ready = asRoot && (await requireTool("qemu-aarch64 binfmt", () => (canRun(ARM64) ? undefined : emulationProblem(ARM64))));
const noS390x = ready && (await requireTool("a platform without an emulator", () => (canRun(S390X) ? "this machine has an s390x emulator: the test needs a platform without one" : undefined)));

/** Stages' root filesystems and the build's temp dir live under imgb-oci-* in TMPDIR. */
const leftovers = () => readdirSync(tmpdir()).filter((n) => n.startsWith("imgb-oci-"));

function stack(dockerfile: string, image: string, platforms: string[]) {
  const dir = tempDir("imgb-ocirun-");
  writeTree(dir, {
    "app/Dockerfile": dockerfile,
    "imgb.yaml": `image_builder: { flavor: oci }\ncontainer_registry: { uri: ${REGISTRY} }\nimages:\n  ${image}:\n    context: app\n    platforms: [${platforms.join(", ")}]\n`,
  });
  return { file: join(dir, "imgb.yaml"), env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } };
}

async function get(repo: string, path: string, accept?: string): Promise<Uint8Array> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/${path}`, { headers: accept ? { Accept: accept } : {} });
  if (res.status !== 200) throw new Error(`GET ${repo}/${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
const json = async <T>(repo: string, path: string, accept?: string) => JSON.parse(new TextDecoder().decode(await get(repo, path, accept))) as T;

interface PlatformImage {
  architecture: string;
  history: { created_by?: string; empty_layer?: boolean }[];
  /** Per layer this build added (after the base's): `tar -tvzf` lines, and the files by path. */
  layers: { listing: string[]; read(path: string): Promise<string> }[];
}

/** One platform's manifest, config and the layers above the base's, read with GNU tar. */
async function platformImage(repo: string, digest: string, baseLayers: number): Promise<PlatformImage> {
  const manifest = await json<{ config: { digest: string }; layers: { digest: string }[] }>(repo, `manifests/${digest}`, MANIFEST);
  const config = await json<{ architecture: string; history: PlatformImage["history"] }>(repo, `blobs/${manifest.config.digest}`);
  const dir = tempDir("imgb-ocirun-layers-");
  const layers: PlatformImage["layers"] = [];
  for (const [i, l] of manifest.layers.slice(baseLayers).entries()) {
    const file = join(dir, `layer-${i}.tar.gz`);
    writeFileSync(file, await get(repo, `blobs/${l.digest}`));
    const listing = (await exec(["tar", "-tvzf", file])).stdout.split("\n").filter(Boolean);
    layers.push({ listing, read: async (path) => (await exec(["tar", "-xzOf", file, path])).stdout });
  }
  return { architecture: config.architecture, history: config.history, layers };
}

/** Per platform of an index, its manifest's layer digests. */
async function layerDigests(repo: string, digest: string): Promise<string[][]> {
  const index = await json<{ manifests: { digest: string }[] }>(repo, `manifests/${digest}`, INDEX);
  return Promise.all(index.manifests.map(async (m) => (await json<{ layers: { digest: string }[] }>(repo, `manifests/${m.digest}`, MANIFEST)).layers.map((l) => l.digest)));
}

async function baseLayerCount(): Promise<Record<string, number>> {
  const [host, ...rest] = MULTIARCH_BASE.split("/");
  const [repo, tag] = rest.join("/").split(":");
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { headers: { Accept: INDEX } });
  const index = (await res.json()) as { manifests: { digest: string; platform: { architecture: string } }[] };
  const out: Record<string, number> = {};
  for (const m of index.manifests) out[m.platform.architecture] = (await json<{ layers: unknown[] }>(repo!, `manifests/${m.digest}`, MANIFEST)).layers.length;
  return out;
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return ""; // exited meanwhile
  }
}

const pushedRef = (stdout: string, repo: string) => {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  expect(line).toStartWith(`${REGISTRY}/${repo}@sha256:`);
  return line.split("@")[1]!;
};

describe.skipIf(!ready)("oci flavor: RUN", () => {
  test(
    "two platforms: the index, both manifests, the files RUN wrote (x86_64 vs aarch64) and a whiteout for the deleted base file; the same layers twice",
    async () => {
      const repo = uniqueRepo("ocirun");
      const dockerfile = `FROM ${MULTIARCH_BASE}\nRUN uname -m > /arch\nARG TARGETARCH\nRUN echo $TARGETARCH > /targetarch\nRUN rm /etc/group\n`;
      const s = stack(dockerfile, repo, ["linux/amd64", "linux/arm64"]);
      const r = await runImgb(["build", "-f", s.file], { env: s.env });
      expect(r.stderr).not.toContain("error");
      expect(r.code).toBe(0);
      const digest = pushedRef(r.stdout, repo);
      const index = await json<{ mediaType: string; manifests: { digest: string; platform: { os: string; architecture: string } }[] }>(repo, `manifests/${digest}`, INDEX);
      expect(index.mediaType).toBe(INDEX);
      expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`)).toEqual(["linux/amd64", "linux/arm64"]);
      const base = await baseLayerCount();
      const expected: Record<string, { uname: string; arch: string }> = { amd64: { uname: "x86_64", arch: "amd64" }, arm64: { uname: "aarch64", arch: "arm64" } };
      for (const m of index.manifests) {
        const arch = m.platform.architecture;
        const image = await platformImage(repo, m.digest, base[arch]!);
        expect(image.architecture).toBe(arch);
        // One layer per RUN, in order: /arch, /targetarch, the whiteout of /etc/group.
        expect(image.layers).toHaveLength(3);
        expect(image.layers[0]!.listing.map((l) => l.split(/\s+/).slice(-1)[0])).toEqual(["arch"]);
        expect(await image.layers[0]!.read("arch")).toBe(expected[arch]!.uname);
        expect(await image.layers[1]!.read("targetarch")).toBe(expected[arch]!.arch);
        expect(image.layers[2]!.listing.some((l) => l.endsWith(" etc/.wh.group"))).toBe(true);
        expect(image.layers[2]!.listing.some((l) => / etc\/group$/.test(l))).toBe(false);
        // Deterministic entries: owner 0/0, the fixed mtime (1970 without SOURCE_DATE_EPOCH).
        for (const l of image.layers.flatMap((x) => x.listing)) expect(l).toMatch(/^\S+ 0\/0 +\d+ 1970-01-01 00:00 /);
        expect(image.history.slice(-4).map((h) => h.created_by)).toEqual([
          "RUN /bin/sh -c uname -m > /arch",
          "ARG TARGETARCH",
          `RUN |1 TARGETARCH=${arch} /bin/sh -c echo $TARGETARCH > /targetarch`,
          `RUN |1 TARGETARCH=${arch} /bin/sh -c rm /etc/group`,
        ]);
      }
      expect(leftovers()).toEqual([]);
      // Deterministic: the same steps built again (another image, so nothing is reused) give the
      // same layers on both platforms (the configs differ only by imgb's checksum label, which
      // covers the image name).
      const repo2 = uniqueRepo("ocirun-again");
      const s2 = stack(dockerfile, repo2, ["linux/amd64", "linux/arm64"]);
      const again = await runImgb(["build", "-f", s2.file], { env: s2.env });
      expect(again.code).toBe(0);
      expect(await layerDigests(repo2, pushedRef(again.stdout, repo2))).toEqual(await layerDigests(repo, digest));
    },
    E2E_TIMEOUT,
  );

  test(
    "FROM --platform=$BUILDPLATFORM: that stage runs natively (this machine's platform), its output is copied into each target platform",
    async () => {
      const repo = uniqueRepo("ocirun-cross");
      const s = stack(`FROM --platform=$BUILDPLATFORM ${MULTIARCH_BASE} AS build\nARG TARGETARCH\nARG BUILDARCH\nRUN uname -m > /built-on && echo $TARGETARCH/$BUILDARCH > /for\nFROM ${MULTIARCH_BASE}\nCOPY --from=build /built-on /for /\n`, repo, ["linux/amd64", "linux/arm64"]);
      const r = await runImgb(["build", "-f", s.file], { env: s.env });
      expect(r.stderr).not.toContain("error");
      expect(r.code).toBe(0);
      const index = await json<{ manifests: { digest: string; platform: { architecture: string } }[] }>(repo, `manifests/${pushedRef(r.stdout, repo)}`, INDEX);
      const base = await baseLayerCount();
      const host = hostPlatform();
      const uname = host.architecture === "arm64" ? "aarch64" : "x86_64";
      for (const m of index.manifests) {
        const image = await platformImage(repo, m.digest, base[m.platform.architecture]!);
        expect(image.layers).toHaveLength(1);
        expect(await image.layers[0]!.read("built-on")).toBe(uname);
        expect(await image.layers[0]!.read("for")).toBe(`${m.platform.architecture}/${host.architecture}`);
      }
      expect(leftovers()).toEqual([]);
    },
    E2E_TIMEOUT,
  );

  test(
    "the sandbox: USER and WORKDIR, only the image's environment, no network, read-only /sys, its own PID namespace",
    async () => {
      const repo = uniqueRepo("ocirun-sandbox");
      const dockerfile = [
        `FROM ${MULTIARCH_BASE}`,
        "ENV FOO=bar",
        "RUN mkdir -m 777 /out",
        "WORKDIR /work/dir",
        "RUN echo $$ > /out/pid && ls /sys/class/net > /out/net && (touch /sys/x 2>/dev/null && echo rw || echo ro) > /out/sys && (wget -q -T 2 http://127.0.0.1:5000/v2/ 2>/dev/null && echo online || echo offline) > /out/network && hostname > /out/hostname",
        "RUN echo this step changes nothing",
        "USER nobody",
        'RUN ["/bin/sh", "-c", "id -u > /out/uid; id -g > /out/gid; pwd > /out/pwd; env | cut -d= -f1 | sort | tr \'\\\\n\' \' \' > /out/env"]',
      ].join("\n");
      const s = stack(`${dockerfile}\n`, repo, ["linux/amd64"]);
      const r = await runImgb(["build", "-f", s.file], { env: s.env });
      expect(r.stderr).not.toContain("error");
      expect(r.code).toBe(0);
      // A base from an index gives an index, here of one platform (as BuildKit).
      const index = await json<{ manifests: { digest: string }[] }>(repo, `manifests/${pushedRef(r.stdout, repo)}`, INDEX);
      expect(index.manifests).toHaveLength(1);
      const base = await baseLayerCount();
      const image = await platformImage(repo, index.manifests[0]!.digest, base.amd64!);
      // A step that changed nothing has no layer: its history entry says so (as BuildKit's).
      expect(image.layers).toHaveLength(3);
      expect(image.history.find((h) => h.created_by?.includes("changes nothing"))?.empty_layer).toBe(true);
      const [mkdir, probes, ids] = image.layers;
      expect(mkdir!.listing.map((l) => l.split(/\s+/).slice(-1)[0])).toEqual(["out/"]);
      expect(await probes!.read("out/pid")).toBe("1");
      expect(await probes!.read("out/net")).toBe("lo");
      expect(await probes!.read("out/sys")).toBe("ro");
      expect(await probes!.read("out/network")).toBe("offline");
      expect(await probes!.read("out/hostname")).toBe("buildkitsandbox"); // not this machine's name
      // The working directory is created by the RUN that needs it, and kept in its layer.
      expect(probes!.listing.some((l) => l.endsWith(" work/dir/"))).toBe(true);
      expect(await ids!.read("out/uid")).toBe("65534");
      expect(await ids!.read("out/gid")).toBe("65534");
      expect(await ids!.read("out/pwd")).toBe("/work/dir");
      // The image's Env and what the shell sets itself; nothing of imgb's own environment (IMGB_HOME, NO_COLOR, TMPDIR).
      expect((await ids!.read("out/env")).trim().split(" ")).toEqual(["FOO", "PATH", "PWD", "SHLVL"]);
      // Files the unprivileged user wrote are owned by it.
      expect(ids!.listing.find((l) => l.endsWith(" out/uid"))).toStartWith("-rw-r--r-- 65534/65534 ");
      expect(leftovers()).toEqual([]);
    },
    E2E_TIMEOUT,
  );

  test(
    "a RUN failing on one platform exits non-zero naming the platform, and pushes no tag",
    async () => {
      const repo = uniqueRepo("ocirun-fail");
      const s = stack(`FROM ${MULTIARCH_BASE}\nRUN echo start\nRUN echo "arch is $(uname -m)"; [ "$(uname -m)" != aarch64 ] || exit 7\n`, repo, ["linux/amd64", "linux/arm64"]);
      const r = await runImgb(["build", "-f", s.file], { env: s.env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("RUN for linux/arm64 in stage 0 (Dockerfile:3) failed with exit code 7");
      expect(r.stderr).toContain("arch is aarch64"); // the command's output, in the error's tail
      expect(r.stdout).toBe("");
      expect((await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)).status).toBe(404);
      expect(leftovers()).toEqual([]);
    },
    E2E_TIMEOUT,
  );

  test(
    "RUN --mount=type=secret: the step reads the values (env and file, mode and owner), which are in no layer and no output; the mount points leave no trace",
    async () => {
      const repo = uniqueRepo("ocirun-secrets");
      const value = `oci-secret-${crypto.randomUUID()}`;
      const dir = tempDir("imgb-ocirun-");
      const steps = [
        "RUN --mount=type=secret,id=tok --mount=type=secret,id=shared,target=/etc/shared.txt,uid=65534,mode=0440 sha256sum /run/secrets/tok | cut -d' ' -f1 > /sum && cat /etc/shared.txt > /shared && stat -c '%a %u' /etc/shared.txt > /shared-meta && echo \"value: $(cat /run/secrets/tok)\"",
        "RUN --mount=type=secret,id=absent (test -e /run/secrets/absent && echo present || echo absent) > /absent",
      ];
      writeTree(dir, {
        "app/Dockerfile": `FROM ${MULTIARCH_BASE}\n${steps.join("\n")}\n`,
        "shared.txt": "shared file\n",
        "imgb.yaml": `image_builder: { flavor: oci }\ncontainer_registry: { uri: ${REGISTRY} }\nsecrets:\n  shared: { file: shared.txt }\nimages:\n  ${repo}:\n    context: app\n    platforms: [linux/amd64]\n    secrets:\n      tok: { env: IMGB_OCI_SECRET }\n`,
      });
      const r = await runImgb(["build", "-f", join(dir, "imgb.yaml")], { env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1", IMGB_OCI_SECRET: value } });
      expect(r.stderr).not.toContain("error");
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("value: ***"); // the step's output, redacted
      expect(r.stderr + r.stdout).not.toContain(value);
      expect(r.stderr).toContain("note: secret 'absent' is not given to this build: the step runs without it");
      const index = await json<{ manifests: { digest: string }[] }>(repo, `manifests/${pushedRef(r.stdout, repo)}`, INDEX);
      const image = await platformImage(repo, index.manifests[0]!.digest, (await baseLayerCount()).amd64!);
      const [reads, absent] = image.layers;
      // Only what the steps wrote: no /run/secrets, no /etc (its mount point came and went).
      expect(reads!.listing.map((l) => l.split(/\s+/).slice(-1)[0])).toEqual(["shared", "shared-meta", "sum"]);
      expect(await reads!.read("sum")).toBe(new Bun.CryptoHasher("sha256").update(value).digest("hex"));
      expect(await reads!.read("shared")).toBe("shared file");
      expect(await reads!.read("shared-meta")).toBe("440 65534");
      expect(absent!.listing.map((l) => l.split(/\s+/).slice(-1)[0])).toEqual(["absent"]);
      expect(await absent!.read("absent")).toBe("absent");
      expect(leftovers()).toEqual([]);
    },
    E2E_TIMEOUT,
  );

  test(
    "a required secret the image does not have is a located error, and nothing is pushed",
    async () => {
      const repo = uniqueRepo("ocirun-secret-required");
      const s = stack(`FROM ${MULTIARCH_BASE}\nRUN true\nRUN --mount=type=secret,id=tok,required=true cat /run/secrets/tok\n`, repo, ["linux/amd64"]);
      const r = await runImgb(["build", "-f", s.file], { env: s.env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Dockerfile:3:1: RUN --mount=type=secret,id=tok is required, and the image has no secret 'tok'");
      expect((await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)).status).toBe(404);
      expect(leftovers()).toEqual([]);
    },
    E2E_TIMEOUT,
  );

  test(
    "Ctrl-C during a RUN: exit 130, the command's processes are gone, nothing pushed, nothing left in TMPDIR",
    async () => {
      const repo = uniqueRepo("ocirun-cancel");
      // A number no other process on the machine sleeps for: how the test finds the RUN's process.
      const seconds = 7000 + Math.floor(Math.random() * 2000);
      const s = stack(`FROM ${MULTIARCH_BASE}\nRUN echo started; sleep ${seconds}; sleep ${seconds}\n`, repo, ["linux/amd64"]);
      const sleeping = () => readdirSync("/proc").filter((p) => /^\d+$/.test(p) && cmdline(p) === `sleep ${seconds}`);
      let sent = false;
      let seen: string[] = [];
      const r = await runImgb(["build", "-f", s.file], {
        env: s.env,
        onStderr: (text, proc) => {
          if (sent || !text.includes("| started")) return;
          sent = true;
          setTimeout(() => {
            seen = sleeping();
            proc.kill("SIGINT");
          }, 200);
        },
      });
      expect(seen).toHaveLength(1); // the RUN was running…
      expect(r.code).toBe(130);
      expect(sleeping()).toEqual([]); // …and nothing of it outlives the build
      expect((await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)).status).toBe(404);
      expect(leftovers()).toEqual([]);
    },
    E2E_TIMEOUT,
  );

  test.skipIf(!noS390x)(
    "a platform without an emulator is refused by validate at the RUN's line, before anything builds",
    async () => {
      const repo = uniqueRepo("ocirun-emu");
      const s = stack(`FROM ${MULTIARCH_BASE}\nCOPY Dockerfile /d\nRUN true\n`, repo, ["linux/amd64", "linux/s390x"]);
      const v = await runImgb(["validate", "-f", s.file], { env: s.env });
      expect(v.code).toBe(2);
      const problem = emulationProblem(S390X)!;
      expect(v.stderr).toContain(`Dockerfile:3:1: error: ${problem.slice(0, problem.indexOf("; "))}`);
      const b = await runImgb(["build", "-f", s.file], { env: s.env });
      expect(b.code).toBe(2);
      expect(b.stderr).toContain("qemu-s390x");
      expect((await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)).status).toBe(404);
      expect(leftovers()).toEqual([]);
    },
    E2E_TIMEOUT,
  );
});
