import { expect, test } from "bun:test";
import { reusedPlatforms } from "./reused_platforms.ts";

test("a registry that cannot answer: the platforms are left out with a warning that says why", async () => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ errors: [{ code: "UNKNOWN", message: "storage is down" }] }, { status: 500 }) });
  try {
    const warnings: string[] = [];
    const ref = `127.0.0.1:${server.port}/ns/app@sha256:${"a".repeat(64)}`;
    const got = await reusedPlatforms({ uri: `127.0.0.1:${server.port}/ns`, insecure: true }, ref, `sha256:${"a".repeat(64)}`, new AbortController().signal, (m) => warnings.push(m));
    expect(got).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`the platforms of ${ref} are left out of the metadata`);
    expect(warnings[0]).toContain("storage is down");
  } finally {
    server.stop(true);
  }
});
