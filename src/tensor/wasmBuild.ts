import { ProximalError } from "../errors.js";

/**
 * Which of the two WebAssembly builds of src/kernels/ runs (scripts/buildWasm.mjs compiles the same
 * source twice):
 * - `"relaxed-simd"`: the matmul multiply-adds are `f32x4.relaxed_madd`, which the engine runs as a
 *   fused multiply-add (one rounding) where the CPU has one, else as a multiply then an add;
 * - `"simd128"`: baseline SIMD only, a multiply then an add, the same bits on every machine.
 */
export type WasmBuild = "relaxed-simd" | "simd128";

export const WASM_BUILDS: readonly WasmBuild[] = ["relaxed-simd", "simd128"];

/**
 * The smallest module that uses a relaxed-SIMD instruction, written out byte by byte:
 * `(func (export "m") (param f32 f32 f32) (result f32)
 *    (f32x4.extract_lane 0 (f32x4.relaxed_madd (f32x4.splat a) (f32x4.splat b) (f32x4.splat c))))`.
 * `WebAssembly.validate` accepts it exactly where the engine implements relaxed SIMD, and calling it
 * shows whether the engine fuses the multiply-add ({@link relaxedMaddFuses}).
 */
// biome-ignore format: one line per section, as the comments describe them
export const RELAXED_MADD_PROBE: Uint8Array<ArrayBuffer> = new Uint8Array([
  // "\0asm", version 1
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // type section (id 1, 8 bytes): one type, func (f32 f32 f32) -> (f32)
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7d, 0x7d, 0x7d, 0x01, 0x7d,
  // function section (id 3, 2 bytes): one function, of type 0
  0x03, 0x02, 0x01, 0x00,
  // export section (id 7, 5 bytes): one export, "m" = function 0
  0x07, 0x05, 0x01, 0x01, 0x6d, 0x00, 0x00,
  // code section (id 10, 22 bytes): one body of 20 bytes, no locals
  0x0a, 0x16, 0x01, 0x14, 0x00,
  // local.get 0, f32x4.splat (SIMD prefix 0xfd, opcode 0x13); the same for b and c
  0x20, 0x00, 0xfd, 0x13, 0x20, 0x01, 0xfd, 0x13, 0x20, 0x02, 0xfd, 0x13,
  // f32x4.relaxed_madd: prefix 0xfd, opcode 0x105 as LEB128 (0x85 0x02)
  0xfd, 0x85, 0x02,
  // f32x4.extract_lane 0 (0xfd 0x1f, lane 0), end
  0xfd, 0x1f, 0x00, 0x0b,
]);

/** Offset of the 3-byte relaxed_madd instruction in {@link RELAXED_MADD_PROBE} (tests swap it). */
export const RELAXED_MADD_OFFSET = 46;

/**
 * Whether this runtime's WebAssembly has relaxed SIMD: it validates {@link RELAXED_MADD_PROBE}.
 * Node >= 22 and Chromium >= 114 do by default; Node 20 only with `node --experimental-wasm-relaxed-simd`.
 * `validate` is injectable so tests can play a runtime without the feature.
 */
export function relaxedSimdSupported(
  validate: (bytes: Uint8Array<ArrayBuffer>) => boolean = (bytes) => WebAssembly.validate(bytes),
): boolean {
  if (typeof WebAssembly === "undefined") return false;
  try {
    return validate(RELAXED_MADD_PROBE);
  } catch {
    // a runtime whose validate throws on an unknown opcode lacks the feature just the same
    return false;
  }
}

/**
 * Whether the engine runs `relaxed_madd` as a fused multiply-add (one rounding), tested on numbers
 * where the two differ: with a = b = 1 + 2⁻¹² and c = -(1 + 2⁻¹¹), the exact a·b + c is 2⁻²⁴, while
 * a·b rounded to float32 (a tie, to even) is 1 + 2⁻¹¹, so multiply-then-add gives 0. Call only where
 * {@link relaxedSimdSupported}.
 */
export function relaxedMaddFuses(): boolean {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(RELAXED_MADD_PROBE));
  const madd = instance.exports.m as (a: number, b: number, c: number) => number;
  const x = 1 + 2 ** -12;
  return madd(x, x, -(1 + 2 ** -11)) === 2 ** -24;
}

/** The build the wasm backend loads, and why (for `backendInfo()` and `proximal info`). */
export interface WasmBuildChoice {
  build: WasmBuild;
  reason: string;
}

const ACCEPTED = `"0" (the SIMD128 kernels), "1" (the relaxed-SIMD kernels, an error where the runtime lacks them) or unset (relaxed SIMD where the runtime has it, else SIMD128)`;

/**
 * Choose the wasm build from `PROXIMAL_WASM_RELAXED` (`setting`) and whether the runtime has relaxed
 * SIMD: unset or empty picks relaxed SIMD where available, else SIMD128; `0` forces SIMD128 (the
 * same bits on every machine); `1` requires relaxed SIMD and throws `BACKEND_UNAVAILABLE` where the
 * runtime lacks it; any other value throws `INVALID_OPTION` naming the accepted values.
 */
export function chooseWasmBuild(setting: string | undefined, relaxedSupported: boolean): WasmBuildChoice {
  if (setting === undefined || setting === "") {
    return relaxedSupported
      ? { build: "relaxed-simd", reason: "the runtime has relaxed SIMD" }
      : {
          build: "simd128",
          reason:
            "the runtime has no relaxed SIMD; Node >= 22 has it, Node 20 with --experimental-wasm-relaxed-simd",
        };
  }
  if (setting === "0") return { build: "simd128", reason: "PROXIMAL_WASM_RELAXED=0" };
  if (setting === "1") {
    if (!relaxedSupported) {
      throw new ProximalError(
        "BACKEND_UNAVAILABLE",
        "PROXIMAL_WASM_RELAXED=1 asks for the relaxed-SIMD wasm kernels, but this runtime's WebAssembly has no relaxed SIMD. It needs Node >= 22 (Node 20: node --experimental-wasm-relaxed-simd) or Chromium >= 114; unset PROXIMAL_WASM_RELAXED to use the SIMD128 kernels.",
      );
    }
    return { build: "relaxed-simd", reason: "PROXIMAL_WASM_RELAXED=1" };
  }
  throw new ProximalError(
    "INVALID_OPTION",
    `PROXIMAL_WASM_RELAXED is "${setting}", which is not a valid value. Set it to ${ACCEPTED}.`,
  );
}

/**
 * `PROXIMAL_WASM_RELAXED` from the environment, read through a guarded `globalThis.process` so the
 * engine still loads in browsers (no `process`), where the default applies.
 */
export function requestedWasmBuild(): string | undefined {
  const runtime = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return runtime?.env?.PROXIMAL_WASM_RELAXED;
}

/**
 * How `proximal info` names a build: `"relaxed-simd fma"` where the multiply-adds are fused,
 * `"relaxed-simd (multiply-adds not fused on this CPU)"` where the engine splits them, `"simd128"`.
 */
export function wasmBuildLabel(build: WasmBuild, fma: boolean): string {
  if (build === "simd128") return "simd128";
  return fma ? "relaxed-simd fma" : "relaxed-simd (multiply-adds not fused on this CPU)";
}
