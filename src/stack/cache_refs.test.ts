import { describe, expect, test } from "bun:test";
import { parseCacheEntry } from "./cache_refs.ts";

describe("cache_from / cache_to entries", () => {
  test("a plain reference and type=registry,ref= are the same registry cache; type=inline is cache_to only", () => {
    expect(parseCacheEntry("127.0.0.1:5000/team/app-cache", "cache_to")).toEqual({ value: { type: "registry", ref: "127.0.0.1:5000/team/app-cache" } });
    expect(parseCacheEntry("type=registry,ref=127.0.0.1:5000/app:cache", "cache_from")).toEqual({ value: { type: "registry", ref: "127.0.0.1:5000/app:cache" } });
    expect(parseCacheEntry("type=inline", "cache_to")).toEqual({ value: { type: "inline" } });
    expect(parseCacheEntry("ref=127.0.0.1:5000/app,type=registry", "cache_from")).toEqual({ value: { type: "registry", ref: "127.0.0.1:5000/app" } });
  });

  test("each wrong form says what is wrong", () => {
    const problem = (text: string, d: "cache_from" | "cache_to" = "cache_to") => {
      const r = parseCacheEntry(text, d);
      return "problem" in r ? r.problem : "accepted";
    };
    expect(problem("type=inline", "cache_from")).toContain("an inline cache is read from the image itself");
    expect(problem("type=local,dest=/tmp/x")).toContain("unknown cache type 'local'");
    expect(problem("type=registry")).toContain("type=registry needs ref=REF");
    expect(problem("ref=a/b")).toContain("no type=");
    expect((parseCacheEntry("dest=/x", "cache_to") as { hint: string }).hint).toContain("quote an entry that holds commas");
    expect(problem("type=registry,ref=a/b,mode=max")).toContain("unknown key 'mode'");
    expect(problem("type=registry,ref=a,ref=b")).toContain("'ref' is given twice");
    expect(problem("type=inline,ref=a")).toContain("type=inline takes no other keys");
    expect(problem("Team/App")).toContain("Invalid image reference");
    expect(problem(`127.0.0.1:5000/app@sha256:${"a".repeat(64)}`)).toContain("not a digest");
  });
});
