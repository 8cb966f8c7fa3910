import { expect, test } from "bun:test";
import { Secret } from "./secret.ts";

test("a secret never prints its value", () => {
  const s = new Secret("hunter2", "env REGISTRY_PASSWORD");
  expect(String(s)).toBe("***");
  expect(`${s}`).toBe("***");
  expect(JSON.stringify({ s })).toBe('{"s":"***"}');
  expect(Bun.inspect(s)).not.toContain("hunter2");
  expect(Bun.inspect({ nested: s })).not.toContain("hunter2");
  expect(s.reveal()).toBe("hunter2");
});
