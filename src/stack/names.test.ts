import { describe, expect, test } from "bun:test";
import { IMAGE_NAME_PATTERN, REGISTRY_URI_PATTERN, imageNameProblem, registryUriProblem } from "./names.ts";

describe("registry URIs (docker reference grammar)", () => {
  const valid = ["127.0.0.1:5000", "localhost:5000", "ghcr.io", "ghcr.io/acme", "ghcr.io/acme/team", "registry-1.docker.io/library", "[::1]:5000", "my.registry:1/a_b/c-d/e__f", "ghcr.io/acme/"];
  for (const uri of valid) {
    test(`accepts ${uri}`, () => {
      expect(registryUriProblem(uri)).toBeUndefined();
      expect(new RegExp(REGISTRY_URI_PATTERN).test(uri)).toBe(true);
    });
  }
  const invalid: [string, RegExp][] = [
    ["", /is empty/],
    ["https://ghcr.io", /no scheme/],
    ["host:99999", /port '99999'/],
    ["host:0", /port '0'/],
    ["host:65536", /port '65536'/],
    ["host:abc", /port 'abc'/],
    ["host:", /port ''/],
    ["-host.io", /host '-host\.io'/],
    ["host-.io", /host 'host-\.io'/],
    ["ho_st.io", /host 'ho_st\.io'/],
    [":5000", /no host/],
    ["ghcr.io/Acme", /namespace 'Acme'/],
    ["ghcr.io/acme//x", /namespace 'acme\/\/x'/],
    ["ghcr.io/-acme", /namespace '-acme'/],
    ["ghcr.io/a b", /white space/],
    ["ghcr.io//", /empty path component/],
    [`ghcr.io/${"a".repeat(260)}`, /260|is 268 characters long/],
  ];
  for (const [uri, message] of invalid) {
    test(`refuses '${uri.slice(0, 30)}'`, () => expect(registryUriProblem(uri)?.message ?? "").toMatch(message));
  }
  test("the pattern refuses what the explainer refuses, except the port range", () => {
    for (const [uri] of invalid) if (!/^host:(0|\d{5,})$/.test(uri) && uri.length < 255) expect(new RegExp(REGISTRY_URI_PATTERN).test(uri)).toBe(false);
  });
});

describe("image names", () => {
  test("a valid name", () => {
    for (const n of ["app", "team/app", "a.b_c__d-e---f", "a".repeat(255)]) {
      expect(imageNameProblem(n)).toBeUndefined();
      expect(new RegExp(IMAGE_NAME_PATTERN).test(n)).toBe(true);
    }
  });
  test("too long: says how long, not the regex", () => {
    expect(imageNameProblem("a".repeat(256))?.message).toBe("Image name is 256 characters long: the limit is 255");
    expect(new RegExp(IMAGE_NAME_PATTERN).test("a".repeat(256))).toBe(false);
  });
  test("names the bad component", () => {
    expect(imageNameProblem("team/App")?.message).toBe("Invalid name 'team/App': 'App' is not a repository path component");
    expect(imageNameProblem("team//app")?.message).toBe("Invalid name 'team//app': empty path component");
  });
});

describe("explainers agree with the schema patterns", () => {
  // A seeded generator: the same strings every run, over the characters that matter.
  let seed = 11;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const strings = Array.from({ length: 30000 }, () => Array.from({ length: 1 + Math.floor(random() * 10) }, () => "aZ09.:/-_[]"[Math.floor(random() * 11)]).join(""));
  test("registry URIs: valid for one exactly when valid for the other (the port range aside)", () => {
    const re = new RegExp(REGISTRY_URI_PATTERN);
    const disagree = strings.filter((s) => re.test(s) !== (registryUriProblem(s) === undefined) && !/port/.test(registryUriProblem(s)?.message ?? ""));
    expect(disagree).toEqual([]);
  });
  test("image names", () => {
    const re = new RegExp(IMAGE_NAME_PATTERN);
    expect(strings.filter((s) => re.test(s) !== (imageNameProblem(s) === undefined))).toEqual([]);
  });
});
