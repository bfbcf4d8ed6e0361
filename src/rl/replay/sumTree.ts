import { ProximalError } from "../../errors.js";

/**
 * A segment tree over `capacity` leaves: a complete binary tree in one array (root at 1, the children
 * of node k at 2k and 2k + 1, leaves at `leafOffset + i`), so that an associative `combine` over all
 * leaves is read at the root in O(1) and one leaf changes in O(log capacity). The leaf count is
 * rounded up to a power of two; the extra leaves hold the identity and never affect a result.
 *
 * Every update recomputes each ancestor from its two children, `node = combine(left, right)`, instead
 * of adding a difference to it: the tree is then a pure function of its leaves, so float rounding can
 * never accumulate over millions of updates ("drift"), and rebuilding from saved leaves reproduces
 * every internal node bit for bit.
 *
 * @see Schaul et al. 2016, "Prioritized Experience Replay", arXiv:1511.05952, Appendix B.2.1 (the
 *   "sum-tree" used for proportional prioritisation).
 */
abstract class SegmentTree {
  /** Number of leaves a caller can address, `0 ≤ i < capacity`. */
  readonly capacity: number;
  /** Index of leaf 0 in {@link SegmentTree.nodes}: the smallest power of two ≥ capacity. */
  protected readonly leafOffset: number;
  /** `[2 · leafOffset]`, float64; index 0 is unused. */
  protected readonly nodes: Float64Array;

  protected constructor(
    capacity: number,
    protected readonly identity: number,
    private readonly name: string,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${name} capacity must be an integer >= 1, got ${capacity}. Pass the replay buffer's capacity.`,
      );
    }
    this.capacity = capacity;
    let leafOffset = 1;
    while (leafOffset < capacity) leafOffset *= 2;
    this.leafOffset = leafOffset;
    this.nodes = new Float64Array(2 * leafOffset).fill(identity);
  }

  /** The tree's associative operation on two children (sum, or min). */
  protected abstract combine(a: number, b: number): number;

  /** The value at the root: `combine` over every leaf. */
  protected get root(): number {
    return this.nodes[1];
  }

  /** Leaf `i`. */
  get(i: number): number {
    this.checkIndex(i);
    return this.nodes[this.leafOffset + i];
  }

  /** Set leaf `i` to `value` and recompute its ancestors from their children (O(log capacity)). */
  set(i: number, value: number): void {
    this.checkIndex(i);
    this.checkValue(value, i);
    let k = this.leafOffset + i;
    this.nodes[k] = value;
    for (k >>= 1; k >= 1; k >>= 1) this.nodes[k] = this.combine(this.nodes[2 * k], this.nodes[2 * k + 1]);
  }

  /** A copy of leaves `0 … capacity-1`. */
  leaves(): Float64Array {
    return this.nodes.slice(this.leafOffset, this.leafOffset + this.capacity);
  }

  /**
   * Replace every leaf with `values` (length `capacity`) and rebuild the inner nodes bottom-up in
   * O(capacity); gives the same tree, bit for bit, as setting the leaves one by one.
   */
  setLeaves(values: ArrayLike<number>): void {
    if (values.length !== this.capacity) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `${this.name}.setLeaves got ${values.length} values for a tree of capacity ${this.capacity}. Pass exactly one value per leaf.`,
      );
    }
    for (let i = 0; i < this.capacity; i++) this.checkValue(values[i], i);
    for (let i = 0; i < this.capacity; i++) this.nodes[this.leafOffset + i] = values[i];
    this.nodes.fill(this.identity, this.leafOffset + this.capacity);
    for (let k = this.leafOffset - 1; k >= 1; k--)
      this.nodes[k] = this.combine(this.nodes[2 * k], this.nodes[2 * k + 1]);
  }

  /** Refuse a leaf value the tree cannot hold, naming the leaf. */
  protected checkValue(value: number, i: number): void {
    if (Number.isNaN(value)) {
      throw new ProximalError(
        "NUMERICAL_ERROR",
        `${this.name}: leaf ${i} would be NaN. A TD error was NaN; check the loss for divergence before updating priorities.`,
      );
    }
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.capacity) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: leaf index ${i} is outside 0…${this.capacity - 1}. Use an index returned by sample().`,
      );
    }
  }
}

/**
 * Sum-tree: leaf i holds a non-negative priority p_i, the root holds `Σ_i p_i`, and
 * {@link SumTree.findPrefixSum} draws index i with probability `p_i / Σ_k p_k` from one uniform
 * number in O(log capacity).
 *
 * @see Schaul et al. 2016, arXiv:1511.05952, §3.3 and Appendix B.2.1.
 * @example
 * const tree = new SumTree(4);
 * tree.set(0, 1); tree.set(1, 3);
 * tree.total;               // 4
 * tree.findPrefixSum(2.5);  // 1, since 1 ≤ 2.5 < 1 + 3
 */
export class SumTree extends SegmentTree {
  constructor(capacity: number) {
    super(capacity, 0, "SumTree");
  }

  /** The tree's operation on two children. */
  protected combine(a: number, b: number): number {
    return a + b;
  }

  /** `Σ_i p_i` over every leaf. */
  get total(): number {
    return this.root;
  }

  /**
   * The index i with `Σ_{j<i} p_j ≤ mass < Σ_{j≤i} p_j` (prefix-sum search, descending from the root:
   * left when `mass` is below the left subtree's sum, else right with `mass` reduced by it).
   *
   * Always returns a leaf with p_i > 0: a step never enters a subtree whose sum is 0, so zero-priority
   * leaves (empty slots) are never drawn, and a `mass` at or past the total (float rounding in the
   * caller's `u · total`) lands on the last positive leaf instead of past it.
   *
   * @throws {@link ProximalError} `"INVALID_ARGUMENT"` when `mass` is negative or NaN, or the total is
   *   not positive (nothing to sample).
   */
  findPrefixSum(mass: number): number {
    const total = this.total;
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `SumTree.findPrefixSum: the total priority is ${total}, so there is nothing to sample. Set at least one leaf to a positive, finite priority first.`,
      );
    }
    if (!(mass >= 0)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `SumTree.findPrefixSum: mass must be in [0, total = ${total}), got ${mass}. Draw it as rng.uniform() * tree.total.`,
      );
    }
    const nodes = this.nodes;
    let k = 1;
    while (k < this.leafOffset) {
      const left = nodes[2 * k];
      const right = nodes[2 * k + 1];
      if (mass < left || !(right > 0)) {
        k = 2 * k;
      } else {
        mass -= left;
        k = 2 * k + 1;
      }
    }
    return k - this.leafOffset;
  }

  /** Refuse a leaf value the tree cannot hold, naming the leaf. */
  protected override checkValue(value: number, i: number): void {
    super.checkValue(value, i);
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `SumTree: leaf ${i} must be a finite priority >= 0, got ${value}. Priorities are (|δ| + ε)^α.`,
      );
    }
  }
}

/**
 * Min-tree: the root holds `min_i p_i` (empty leaves hold +∞), which gives the largest importance
 * weight `max_j w_j = (N · min_j P(j))^(-β)` in O(1).
 *
 * @see Schaul et al. 2016, arXiv:1511.05952, §3.4 (weights normalised by `1 / max_i w_i`).
 */
export class MinTree extends SegmentTree {
  constructor(capacity: number) {
    super(capacity, Number.POSITIVE_INFINITY, "MinTree");
  }

  /** The tree's operation on two children. */
  protected combine(a: number, b: number): number {
    return a < b ? a : b;
  }

  /** `min_i p_i` over every leaf; +∞ when all are empty. */
  get min(): number {
    return this.root;
  }
}
