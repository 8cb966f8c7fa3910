import { describe, expect, test } from "bun:test";
import { apiEndpoint, daemonApi } from "./daemon_api.ts";

describe("the Engine API endpoint", () => {
  test("a unix socket (the default too), or a tcp:// daemon without TLS; anything else is the CLI's", () => {
    expect(apiEndpoint(undefined, false)).toEqual({ socket: "/var/run/docker.sock" });
    expect(apiEndpoint("unix:///run/x.sock", false)).toEqual({ socket: "/run/x.sock" });
    expect(apiEndpoint("tcp://127.0.0.1:2375", false)).toEqual({ base: "http://127.0.0.1:2375" });
    expect(apiEndpoint("tcp://[::1]:2375/", false)).toEqual({ base: "http://[::1]:2375" });
    expect(apiEndpoint("tcp://127.0.0.1:2376", true)).toBeUndefined();
    expect(apiEndpoint("tcp://host:2375/some/path", false)).toBeUndefined();
    expect(apiEndpoint("ssh://me@host", false)).toBeUndefined();
  });

  test("over tcp://: the daemon's answer; a 404 is null; nothing listening is 'ask the CLI'", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => (new URL(req.url).pathname === "/images/x/json" ? Response.json({ Id: "sha256:abc" }) : new Response("no such image", { status: 404 })),
    });
    try {
      const api = daemonApi(`tcp://127.0.0.1:${server.port}`, new AbortController().signal);
      expect(await api.get<{ Id: string }>("/images/x/json")).toEqual({ Id: "sha256:abc" });
      expect(await api.get("/images/y/json")).toBeNull();
    } finally {
      server.stop(true);
    }
    const gone = daemonApi(`tcp://127.0.0.1:${server.port}`, new AbortController().signal);
    expect(await gone.get("/images/x/json")).toBeUndefined();
  });
});
