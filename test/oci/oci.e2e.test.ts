/**
 * The `oci` flavor end to end: images built without any engine, pushed to the real registry,
 * then pulled and run by the test dockerd and checked from inside (files, owners, env, workdir,
 * user, entrypoint); docker-archive loaded by podman and docker; multi-stage copies (also out
 * of a base image's layers); reproducible digests; multi-platform indexes; a RUN --mount's error (RUN itself: oci_run.e2e.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../src/errors.ts";
import { exec } from "../../src/exec.ts";
import { E2E_TIMEOUT, REGISTRY, registryDigest, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { PODMAN_RUN_FLAGS } from "../engines/_scenario.ts";
import { docker, fixture, ociBuild, pushBase, REGISTRY_BASE } from "./_oci_e2e.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const make = fixture;
afterAll(cleanupTempDirs);

const run = async (ref: string, ...cmd: string[]) => (await docker("run", "--rm", "--network=none", ...cmd.slice(0, -1), ref, ...cmd.slice(-1))).stdout;
const sh = async (ref: string, script: string) => (await docker("run", "--rm", "--network=none", "--entrypoint", "sh", ref, "-c", script)).stdout;

describe.skipIf(!(await requireEngine("docker", "registry")))("oci flavor: push, pull, run", () => {
  beforeAll(() => pushBase(), E2E_TIMEOUT);

  test("FROM a registry image: files, owners, env, workdir, user, entrypoint", async () => {
    const root = make({
      Dockerfile: [
        `FROM ${REGISTRY_BASE}`,
        "ARG VERSION=0",
        "ENV GREETING=hello APP_VERSION=$VERSION",
        "WORKDIR /srv/app",
        "COPY --chown=1000:1000 app/ ./",
        "COPY --chmod=755 run.sh /usr/local/bin/",
        "LABEL org.example.role=e2e",
        "USER 1000",
        "EXPOSE 8080",
        'ENTRYPOINT ["/usr/local/bin/run.sh"]',
        'CMD ["default-arg"]',
      ].join("\n"),
      "app/main.txt": "main\n",
      "app/conf/app.yaml": "k: v\n",
      "run.sh": '#!/bin/sh\necho "run $GREETING $APP_VERSION $(id -u) $(pwd) $*"\n',
    });
    const repo = uniqueRepo("oci-run");
    const { ref, logs } = await ociBuild(root, `${repo}:v1`, {}, undefined, { buildArgs: { VERSION: "7" }, labels: { "org.example.extra": "yes" } });
    expect(ref).toBe(`${REGISTRY}/${repo}@${await registryDigest(REGISTRY, repo, "v1")}`);
    // The base layer is mounted from the base's repository, not uploaded again.
    expect(logs.some((l) => l.startsWith("mounted ") && l.endsWith("from imgb-test/busybox"))).toBe(true);
    expect(await run(ref, "x")).toBe("run hello 7 1000 /srv/app x");
    expect(await run(ref, "")).toBe("run hello 7 1000 /srv/app ");
    expect(await sh(ref, "cd /srv/app && stat -c '%u:%g %a %n' . conf conf/app.yaml main.txt /usr/local/bin/run.sh && cat conf/app.yaml")).toBe(
      ["1000:1000 755 .", "1000:1000 755 conf", "1000:1000 644 conf/app.yaml", "1000:1000 644 main.txt", "0:0 755 /usr/local/bin/run.sh", "k: v"].join("\n"),
    );
    const inspect = JSON.parse((await docker("image", "inspect", ref)).stdout)[0];
    expect(inspect.Config.Labels).toEqual({ "org.example.role": "e2e", "org.example.extra": "yes" });
    expect(inspect.Config.ExposedPorts).toEqual({ "8080/tcp": {} });
    expect(inspect.Config.User).toBe("1000");
  }, E2E_TIMEOUT);

  test("FROM scratch with a static binary; two builds give the same digest", async () => {
    const root = make({
      Dockerfile: 'FROM scratch\nCOPY --chmod=755 busybox /bin/busybox\nCOPY hello.txt /data/\nENTRYPOINT ["/bin/busybox"]\nCMD ["cat", "/data/hello.txt"]\n',
      busybox: readFileSync("/bin/busybox"),
      "hello.txt": "from scratch\n",
    });
    const repo = uniqueRepo("oci-scratch");
    const first = await ociBuild(root, repo);
    const second = await ociBuild(root, `${repo}:again`);
    expect(second.ref.split("@")[1]).toBe(first.ref.split("@")[1]!);
    expect(await run(first.ref, "--entrypoint", "/bin/busybox", "cat")).toBe(""); // no file argument: reads empty stdin
    expect((await docker("run", "--rm", "--network=none", first.ref)).stdout).toBe("from scratch");
  }, E2E_TIMEOUT);

  test("multi-stage: COPY --from a stage built on a registry image (read from its layers), --chown by name", async () => {
    const root = make({
      Dockerfile: [
        `FROM ${REGISTRY_BASE} AS tools`,
        "COPY passwd group /etc/",
        "COPY --chown=app:staff note.txt /home/app/",
        "FROM scratch",
        "COPY --from=tools /bin/busybox /bin/",
        "COPY --from=tools /etc/passwd /etc/group /etc/",
        "COPY --from=tools /home/ /home/",
        'ENTRYPOINT ["/bin/busybox"]',
      ].join("\n"),
      passwd: "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n",
      group: "root:x:0:\nstaff:x:50:\n",
      "note.txt": "note\n",
    });
    const repo = uniqueRepo("oci-stages");
    const { ref } = await ociBuild(root, repo);
    expect((await docker("run", "--rm", "--network=none", ref, "sh", "-c", "ls -ln /home/app | tail -1 | awk '{print $3, $4, $NF}'; cat /home/app/note.txt")).stdout).toBe(
      "0 0 note.txt\nnote",
    );
    // Ownership of the stage itself: the --chown by name took effect there.
    const stage = await ociBuild(root, `${repo}-tools`, {}, undefined, { target: "tools" });
    expect(await sh(stage.ref, "stat -c '%u:%g' /home/app/note.txt")).toBe("1234:50");
  }, E2E_TIMEOUT);

  test("several platforms from scratch: an index with one manifest per platform", async () => {
    const root = make({ Dockerfile: "FROM scratch\nARG TARGETARCH\nCOPY f /f-$TARGETARCH\n", f: "x\n" });
    const repo = uniqueRepo("oci-index");
    const { ref } = await ociBuild(root, repo, {}, undefined, { platforms: ["linux/amd64", "linux/arm64"] });
    const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${ref.split("@")[1]}`, { headers: { Accept: "application/vnd.oci.image.index.v1+json" } });
    const index = (await res.json()) as { mediaType: string; manifests: { platform: { architecture: string } }[] };
    expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(["amd64", "arm64"]);

    // That index as a base: the arm64 manifest is picked, and the output is an index again.
    const next = make({ Dockerfile: `FROM ${ref}\nCOPY g /g\n`, g: "g\n" });
    const derived = await ociBuild(next, uniqueRepo("oci-index-derived"), {}, undefined, { platforms: ["linux/arm64"] });
    const [repo2, digest2] = derived.ref.slice(REGISTRY.length + 1).split("@");
    const res2 = await fetch(`http://${REGISTRY}/v2/${repo2}/manifests/${digest2}`, { headers: { Accept: "application/vnd.oci.image.index.v1+json" } });
    const index2 = (await res2.json()) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(index2.manifests.map((m) => m.platform.architecture)).toEqual(["arm64"]);
    const manifest = (await (await fetch(`http://${REGISTRY}/v2/${repo2}/manifests/${index2.manifests[0]!.digest}`, { headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } })).json()) as { config: { digest: string } };
    const config = (await (await fetch(`http://${REGISTRY}/v2/${repo2}/blobs/${manifest.config.digest}`)).json()) as { architecture: string; rootfs: { diff_ids: string[] } };
    expect(config.architecture).toBe("arm64");
    expect(config.rootfs.diff_ids).toHaveLength(2);
  }, E2E_TIMEOUT);

  test("a RUN --mount it cannot give is a located error naming the engine flavors, and nothing is pushed", async () => {
    const root = make({ Dockerfile: `FROM ${REGISTRY_BASE}\nCOPY a /a\nRUN --mount=type=ssh ssh-add -l > /b\n`, a: "a" });
    const repo = uniqueRepo("oci-run-error");
    const err = (await ociBuild(root, repo).catch((e) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.describe()).toBe("Dockerfile:3:1: RUN: --mount=type=ssh is not supported by the 'oci' flavor (only type=secret)");
    expect(err.hint).toContain("docker, podman or buildah");
    expect((await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)).status).toBe(404);
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("podman", "docker", "registry")))("oci flavor: archives", () => {
  beforeAll(() => pushBase(), E2E_TIMEOUT);

  test("docker-archive: podman load and docker load run it; oci-layout is readable by skopeo", async () => {
    const root = make({ Dockerfile: `FROM ${REGISTRY_BASE}\nENV WHO=archive\nCOPY hi.txt /hi.txt\nCMD ["sh", "-c", "cat /hi.txt; echo $WHO"]\n`, "hi.txt": "hi\n" });
    const out = make({});
    const name = `imgb-e2e/oci-archive-${Date.now().toString(36)}`;
    const archive = join(out, "{image}.tar");
    const { ref } = await ociBuild(root, `${name}:v1`, { output: `docker-archive:${archive}` }, undefined);
    expect(ref).toBe(`${name}:v1`);
    const file = join(out, `${name.replace(/[/:]/g, "_")}_v1.tar`);
    expect((await exec(["podman", "load", "-i", file])).stdout).toContain(`${name}:v1`);
    expect((await exec(["podman", "run", "--rm", "--network=none", ...PODMAN_RUN_FLAGS.slice(1), `localhost/${name}:v1`])).stdout).toBe("hi\narchive");
    await exec(["podman", "rmi", `localhost/${name}:v1`]).catch(() => {});
    expect((await docker("load", "-i", file)).stdout).toContain(`${name}:v1`);
    expect((await docker("run", "--rm", "--network=none", `${name}:v1`)).stdout).toBe("hi\narchive");
    await docker("rmi", `${name}:v1`).catch(() => {});

    const layout = join(out, "layout");
    const built = await ociBuild(root, `${name}:v1`, { output: `oci-layout:${layout}` }, undefined);
    expect(built.report.digest).toMatch(/^sha256:/);
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    expect(index.manifests[0].digest).toBe(built.report.digest);
    if (await requireEngine("skopeo")) {
      const inspected = JSON.parse((await exec(["skopeo", "inspect", `oci:${layout}:v1`])).stdout);
      expect(inspected.Env).toContain("WHO=archive");
    }
  }, E2E_TIMEOUT);
});
