/**
 * How eagerly JavaScriptCore compiles. The binary starts with its tier-up thresholds scaled by
 * STARTUP_JIT_POLICY (scripts/build.ts: `--compile-jit-policy`): most of what one imgb command
 * runs runs a few times (loading the stack, the YAML parser, one checksum and one lookup per
 * image), and compiling that code costs more CPU than it saves. A fully reused `imgb build` of 8
 * images took ~80 ms of CPU with the normal policy and ~57 ms with this one (bench-reuse, #15).
 * Work that loops long enough to pay for the JIT (a context of thousands of files: _heap.ts)
 * calls normalJit() when it gets there. Outside the binary (bun src/main.ts, tests) the policy
 * is the normal one from the start and normalJit() changes nothing.
 */

/** The scale of the tier-up thresholds the binary starts with (1 = JavaScriptCore's normal policy). */
export const STARTUP_JIT_POLICY = 16;

type WithJitPolicy = { setJITPolicy?: (scale: number) => void };

/** Back to JavaScriptCore's normal JIT policy (a Bun without Bun.unsafe.setJITPolicy: nothing to do). */
export function normalJit(): void {
  (Bun.unsafe as WithJitPolicy).setJITPolicy?.(1);
}
