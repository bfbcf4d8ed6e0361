import { withScopedStorage } from "../../tensor/storage.js";

/**
 * One gradient step (or minibatch step) whose tensors all die with it: `step` runs inside
 * `withScopedStorage`, so the step's activation, gradient and loss buffers go back to the pool when
 * it ends instead of waiting for the garbage collector (storage.ts). Gradients are cleared at the
 * end through `optimizer`, since a parameter's `.grad` must not outlive the scope that owns its
 * buffer; `step` must keep no other tensor past its end (results leave as numbers).
 */
export function scopedGradientStep(optimizer: { zeroGrad(): void }, step: () => void): void {
  withScopedStorage(() => {
    step();
    optimizer.zeroGrad();
  });
}
