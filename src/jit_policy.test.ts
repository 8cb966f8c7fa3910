import { afterEach, expect, spyOn, test } from "bun:test";
import { FILES_PER_COLLECTION, GarbageBound } from "./context/_heap.ts";
import { normalJit, STARTUP_JIT_POLICY } from "./jit_policy.ts";

const unsafe = Bun.unsafe as { setJITPolicy?: (scale: number) => void };
let restore: (() => void) | undefined;
afterEach(() => restore?.());

function spy() {
  if (!unsafe.setJITPolicy) unsafe.setJITPolicy = () => {};
  const s = spyOn(unsafe as { setJITPolicy: (scale: number) => void }, "setJITPolicy");
  restore = () => s.mockRestore();
  return s;
}

test("the startup policy makes the JIT more reluctant, not less", () => {
  expect(STARTUP_JIT_POLICY).toBeGreaterThan(1);
});

test("normalJit sets JavaScriptCore's normal policy", () => {
  const s = spy();
  normalJit();
  expect(s.mock.calls).toEqual([[1]]);
});

test("a per-file loop goes back to the normal JIT policy at its first collection, once", () => {
  const s = spy();
  const gc = new GarbageBound();
  for (let i = 1; i < FILES_PER_COLLECTION; i++) gc.tick();
  expect(s).not.toHaveBeenCalled(); // a small context keeps the startup policy
  gc.tick();
  expect(s.mock.calls).toEqual([[1]]);
  for (let i = 0; i < 2 * FILES_PER_COLLECTION; i++) gc.tick();
  expect(s.mock.calls).toEqual([[1]]);
});
