import { concat, narrow } from "../../tensor/ops.js";
import { noGrad, type Tensor } from "../../tensor/tensor.js";
import type { CausalLMCache, CausalLMForwardOptions } from "./causalLm.js";

// Shared helpers of the causal-LM tests (GPT, Llama). Not exported from src/index.ts.

interface CachedLM {
  forward(
    ids: Tensor,
    options?: CausalLMForwardOptions,
  ): { logits: Tensor | null; cache: CausalLMCache | null };
}

/**
 * Logits [B, L, V] of `ids` [B, L] (left-padded: `mask` [B, L]) decoded with the KV cache: the first
 * `prompt` columns in one call, then one column per call. `inference` runs under noGrad, so attention
 * is the fused kernel reading the cache in place; otherwise gradients are recorded (the parameters
 * require them) and attention is the composed ops over the cached positions concatenated with the
 * new ones, the path every cache took before the cache was preallocated.
 */
export function stepwiseLogits(
  model: CachedLM,
  ids: Tensor,
  mask: Tensor,
  prompt: number,
  options: { inference: boolean; cacheLength?: number },
): Tensor {
  const run = (): Tensor => {
    const length = ids.shape[1];
    let out = model.forward(narrow(ids, 1, 0, prompt), {
      attentionMask: narrow(mask, 1, 0, prompt),
      cache: null,
      cacheLength: options.cacheLength,
    });
    const pieces = [out.logits as Tensor];
    for (let t = prompt; t < length; t++) {
      out = model.forward(narrow(ids, 1, t, 1), {
        attentionMask: narrow(mask, 1, 0, t + 1),
        cache: out.cache,
      });
      pieces.push(out.logits as Tensor);
    }
    return concat(pieces, 1);
  };
  return options.inference ? noGrad(run) : run();
}
