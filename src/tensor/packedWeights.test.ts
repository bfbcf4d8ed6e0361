import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { generate } from "../rlhf/generate.js";
import { GPT } from "../rlhf/gpt.js";
import type { Backend, PackedWeight } from "./backend.js";
import { loadNativeBackend } from "./nativeBackend.js";
import { linear, linearAct } from "./ops.js";
import { packedWeightFor, packedWeightStats, withPackedWeights } from "./packedWeights.js";
import { storageStats } from "./storage.js";
import { Tensor, withBackend } from "./tensor.js";
import { randomNormal } from "./testing.js";

// Prepacked linear weights (tensor/packedWeights.ts, native/kernels.cc "Prepacked weights"): the
// packed product gives the unpacked one's bits on every path and thread count, and the scope packs
// exactly the weights it lists, once, within its budget.

const native = loadNativeBackend();

describe("prepacked linear weights: the native kernel", () => {
  if (native === null) {
    // nativeParity.test.ts fails where the addon should exist and does not; nothing to compare here
    test("native kernels", {
      skip: "the native backend is not loaded (nativeParity.test.ts says why)",
    }, () => {});
    return;
  }
  const backend = native;
  const initialThreads = backend.threads;
  const best = backend.isa;
  const runnable = backend.runnableIsas();

  // rows: the dot-product path (1, 2), fewer than a micro-tile, ragged micro-tiles, the column split
  // (<= 24 rows) and row blocks past it; K across the 256 block; N across panels and the 512 block
  const shapes: [number, number, number][] = [
    [1, 7, 5],
    [2, 256, 33],
    [3, 64, 2],
    [8, 256, 768],
    [8, 300, 1030],
    [13, 513, 40],
    [24, 256, 4096],
    [40, 257, 520],
  ];
  for (const isa of runnable) {
    test(`${isa}: linear and linearAct from a pack give the unpacked bits on 1, 2 and 3 threads`, (t) => {
      t.after(() => {
        backend.setThreads(initialThreads);
        backend.setIsa(best);
      });
      backend.setIsa(isa);
      const rng = new Rng(40);
      for (const [m, k, n] of shapes) {
        const x = randomNormal(rng, m * k);
        const w = randomNormal(rng, n * k);
        const bias = randomNormal(rng, n);
        const packed = backend.packLinearWeight(w, k, n);
        for (const act of [null, "relu", "tanh"] as const) {
          for (const withBias of [false, true]) {
            const b = withBias ? bias : null;
            const expected = new Float32Array(m * n);
            backend.setThreads(1);
            if (act === null) backend.linear(x, w, b, expected, m, k, n);
            else backend.linearAct(x, w, b, expected, m, k, n, act);
            for (const threads of [1, 2, 3]) {
              backend.setThreads(threads);
              const actual = new Float32Array(m * n).fill(Number.NaN);
              backend.linearPacked(x, w, packed, b, actual, m, k, n, act);
              assert.deepEqual(
                actual,
                expected,
                `${m}x${k}x${n} act ${act} bias ${withBias} threads ${threads}`,
              );
            }
          }
        }
      }
    });
  }

  test("a pack made on one instruction-set path is refused on another, naming both", (t) => {
    if (runnable.length < 2) {
      t.skip("this CPU runs one native path only");
      return;
    }
    t.after(() => backend.setIsa(best));
    const w = new Float32Array(6).fill(1);
    backend.setIsa(runnable[0]!);
    const packed = backend.packLinearWeight(w, 3, 2);
    backend.setIsa(runnable[1]!);
    assert.throws(
      () => backend.linearPacked(new Float32Array(9), w, packed, null, new Float32Array(6), 3, 3, 2, null),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.message.includes(packed.layout) &&
        e.message.includes(backend.packedLinearLayout()) &&
        /Pack it again/.test(e.message),
    );
  });

  test("a pack too short for its shape is a TypeError, not a read out of bounds", () => {
    const packed: PackedWeight = { data: new Float32Array(4), layout: backend.packedLinearLayout() };
    assert.throws(
      () =>
        backend.linearPacked(
          new Float32Array(3 * 64),
          new Float32Array(64 * 64),
          packed,
          null,
          new Float32Array(3 * 64),
          3,
          64,
          64,
          null,
        ),
      (e: unknown) =>
        e instanceof TypeError && /native linearPacked: argument 2 has 4 elements/.test(e.message),
    );
  });

  test("generation decodes the same tokens and log-probabilities with packed weights as without", () => {
    withBackend("native", () => {
      const gpt = new GPT(
        { vocabSize: 50, nPositions: 24, nEmbd: 32, nLayer: 2, nHead: 2 },
        { rng: new Rng(3) },
      );
      const prompts = Array.from({ length: 5 }, (_, b) => [1 + b, 2 + b, 3]);
      const options = { maxNewTokens: 12, doSample: true } as const;
      const packed = generate(gpt, prompts, { ...options, rng: new Rng(8) });
      // the same model without `parameters()`: generate cannot pack it
      const plain = { forward: gpt.forward.bind(gpt) };
      const unpacked = generate(plain, prompts, { ...options, rng: new Rng(8) });
      assert.deepEqual(packed.sequences.data, unpacked.sequences.data);
      assert.deepEqual(packed.logProbs.data, unpacked.logProbs.data);
      // the option that turns packing off gives the same tokens too
      const off = generate(gpt, prompts, { ...options, rng: new Rng(8), packBudgetBytes: 0 });
      assert.deepEqual(off.sequences.data, packed.sequences.data);
      assert.throws(
        () => generate(gpt, prompts, { ...options, rng: new Rng(8), packBudgetBytes: -1 }),
        (e: unknown) =>
          e instanceof ProximalError && e.code === "INVALID_OPTION" && /packBudgetBytes/.test(e.message),
      );
    });
  });
});

/** A backend double that packs by copying and counts its calls; linear reads the original. */
function countingBackend(minRows: number): Backend & { packs: number; packedCalls: number } {
  const base = {
    name: "cpu" as const,
    packs: 0,
    packedCalls: 0,
    packedLinearMinRows: minRows,
    packedLinearLayout: () => "test/1",
    packLinearWeight(w: Float32Array): PackedWeight {
      this.packs++;
      return { data: w.slice(), layout: "test/1" };
    },
    linearPacked() {
      this.packedCalls++;
    },
  };
  return base as unknown as Backend & { packs: number; packedCalls: number };
}

describe("withPackedWeights", () => {
  const rng = new Rng(41);
  const weight = new Tensor(randomNormal(rng, 12), [4, 3]);
  const other = new Tensor(randomNormal(rng, 12), [4, 3]);

  test("packs a listed weight once, at the backend's minimum rows, and drops the packs on exit", () => {
    const backend = countingBackend(3);
    withPackedWeights([weight], () => {
      assert.equal(packedWeightFor(weight, 2, backend), null, "below the minimum rows");
      assert.equal(backend.packs, 0);
      const first = packedWeightFor(weight, 3, backend);
      const again = packedWeightFor(weight, 8, backend);
      assert.ok(first !== null);
      assert.equal(again, first);
      assert.equal(backend.packs, 1);
      assert.equal(packedWeightFor(other, 8, backend), null, "not listed");
      assert.deepEqual(packedWeightStats(), { weights: 1, bytes: 48 });
    });
    assert.equal(packedWeightStats(), null);
    assert.equal(packedWeightFor(weight, 8, backend), null, "outside any scope");
  });

  test("a scope nests, and the outer one's packs are back after the inner returns", () => {
    const backend = countingBackend(1);
    withPackedWeights([weight], () => {
      const outer = packedWeightFor(weight, 4, backend);
      withPackedWeights([other], () => {
        assert.equal(packedWeightFor(weight, 4, backend), null);
        assert.ok(packedWeightFor(other, 4, backend) !== null);
      });
      assert.equal(packedWeightFor(weight, 4, backend), outer);
    });
  });

  test("past the budget a weight runs unpacked: refused before packing when its own bytes do not fit", () => {
    const backend = countingBackend(1);
    withPackedWeights(
      [weight, other],
      () => {
        assert.ok(packedWeightFor(weight, 4, backend) !== null);
        assert.equal(packedWeightFor(other, 4, backend), null);
        assert.equal(packedWeightFor(other, 4, backend), null);
        assert.equal(backend.packs, 1, "48 + 48 bytes cannot fit 60: the second weight is never copied");
      },
      { budgetBytes: 60 },
    );
  });

  test("a pack whose padding passes the budget is dropped once and not made again", () => {
    const padded = {
      ...countingBackend(1),
      packs: 0,
      packLinearWeight(w: Float32Array): PackedWeight {
        this.packs++;
        return { data: new Float32Array(w.length + 4), layout: "test/1" }; // 64 bytes for 48
      },
    };
    const backend = padded as unknown as Backend & { packs: number };
    withPackedWeights(
      [weight],
      () => {
        assert.equal(packedWeightFor(weight, 4, backend), null);
        assert.equal(packedWeightFor(weight, 4, backend), null);
        assert.equal(backend.packs, 1);
        assert.deepEqual(packedWeightStats(), { weights: 0, bytes: 0 });
      },
      { budgetBytes: 60 },
    );
  });

  test("a budget of 0 opens no scope at all", () => {
    const backend = countingBackend(1);
    withPackedWeights(
      [weight],
      () => {
        assert.equal(packedWeightStats(), null);
        assert.equal(packedWeightFor(weight, 4, backend), null);
      },
      { budgetBytes: 0 },
    );
    assert.equal(backend.packs, 0);
  });

  test("a pack of another layout is replaced", () => {
    let layout = "a/1";
    const backend = {
      ...countingBackend(1),
      packedLinearLayout: () => layout,
      packLinearWeight: (w: Float32Array) => ({ data: w.slice(), layout }),
    } as unknown as Backend;
    withPackedWeights([weight], () => {
      const first = packedWeightFor(weight, 4, backend);
      layout = "b/1";
      const second = packedWeightFor(weight, 4, backend);
      assert.equal(first?.layout, "a/1");
      assert.equal(second?.layout, "b/1");
      assert.deepEqual(packedWeightStats(), { weights: 1, bytes: 48 });
    });
  });

  test("backends without packing (cpu, wasm) run unpacked, with the same values", () => {
    const x = new Tensor(randomNormal(rng, 5 * 3), [5, 3]);
    const bias = new Tensor(randomNormal(rng, 4), [4]);
    withBackend("cpu", () => {
      const outside = linearAct(x, weight, bias, "tanh").values.slice();
      withPackedWeights([weight], () => {
        assert.deepEqual(linearAct(x, weight, bias, "tanh").values, outside);
        assert.deepEqual(packedWeightStats(), { weights: 0, bytes: 0 });
      });
    });
  });

  test("ops.linear and ops.linearAct use the pack on the native backend, with the same bits", (t) => {
    if (native === null) {
      t.skip("the native backend is not loaded (nativeParity.test.ts says why)");
      return;
    }
    const x = new Tensor(randomNormal(rng, 6 * 3), [6, 3]);
    const bias = new Tensor(randomNormal(rng, 4), [4]);
    withBackend("native", () => {
      const plain = linear(x, weight, bias).values.slice();
      const relu = linearAct(x, weight, bias, "relu").values.slice();
      let pack: PackedWeight | null = null;
      withPackedWeights([weight], () => {
        assert.deepEqual(linear(x, weight, bias).values, plain);
        assert.deepEqual(linearAct(x, weight, bias, "relu").values, relu);
        assert.equal(packedWeightStats()?.weights, 1);
        pack = packedWeightFor(weight, 6, native);
      });
      assert.ok(pack !== null);
      // a pack big enough for the storage pool is handed back when the scope ends
      const big = new Tensor(randomNormal(rng, 64 * 128), [64, 128]);
      let bigPack: PackedWeight | null = null;
      withPackedWeights([big], () => {
        bigPack = packedWeightFor(big, 8, native);
        assert.ok((bigPack?.data.length ?? 0) > 0);
      });
      if (storageStats().pooling) assert.equal((bigPack as PackedWeight | null)?.data.length, 0);
    });
  });

  test("a negative or non-finite budget is INVALID_OPTION naming the value", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => withPackedWeights([weight], () => 0, { budgetBytes: bad }),
        (e: unknown) =>
          e instanceof ProximalError && e.code === "INVALID_OPTION" && e.message.includes(`got ${bad}`),
      );
    }
  });
});
