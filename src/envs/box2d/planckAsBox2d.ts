import { Vec2, type World } from "planck";
import { ProximalError } from "../../errors.js";

// Two corrections that make planck 1.4.2 (the Box2D 2.x port the Box2D envs use) compute what Box2D
// 2.3, the engine Gymnasium's pybox2d 2.3.10 wraps, computes. Both were found by running the same
// worlds in Box2D 2.3's C++ (scripts/fixtures/*Box2d.cpp) and are checked by the envs' fixture tests.

/**
 * Mass, centroid and rotational inertia about the body origin of a convex polygon of `density`, as
 * Box2D 2.3's `b2PolygonShape::ComputeMass` computes them (triangles fanned from the vertices'
 * mean; `vertices` counter-clockwise). planck 1.4.2 computes the same sums, but its `addVec2`
 * helper writes `v.x + w.y` into the centroid's y: any polygon whose vertices'
 * mean is off its centroid gets a wrong centre of mass and inertia. BipedalWalker's hull comes out
 * 8.8 cm too low (y -0.093 instead of Box2D's -0.006) and 2.4% too stiff in rotation (on that
 * bottom-heavy hull Gymnasium's heuristic speeds up and falls after about 200 steps on every seed);
 * LunarLander's lander 2.35 cm too low. Boxes centred on their origin (the legs) come out right.
 * Use it as `body.setMassData(polygonMassData(polygon.m_vertices, density))` after the fixture.
 */
export function polygonMassData(
  vertices: Vec2[],
  density: number,
): { mass: number; center: Vec2; I: number } {
  let sx = 0;
  let sy = 0;
  for (const v of vertices) {
    sx += v.x;
    sy += v.y;
  }
  sx /= vertices.length;
  sy /= vertices.length;
  let area = 0;
  let cx = 0;
  let cy = 0;
  let inertia = 0;
  for (let i = 0; i < vertices.length; i++) {
    const next = vertices[(i + 1) % vertices.length];
    const e1x = vertices[i].x - sx;
    const e1y = vertices[i].y - sy;
    const e2x = next.x - sx;
    const e2y = next.y - sy;
    const d = e1x * e2y - e1y * e2x;
    const triangleArea = 0.5 * d;
    area += triangleArea;
    cx += (triangleArea * (e1x + e2x)) / 3;
    cy += (triangleArea * (e1y + e2y)) / 3;
    const intx2 = e1x * e1x + e2x * e1x + e2x * e2x;
    const inty2 = e1y * e1y + e2y * e1y + e2y * e2y;
    inertia += (0.25 / 3) * d * (intx2 + inty2);
  }
  const mass = density * area;
  cx /= area;
  cy /= area;
  const center = new Vec2(cx + sx, cy + sy);
  // inertia about the vertices' mean, shifted to the centroid and then to the body origin
  const I = density * inertia + mass * (center.x * center.x + center.y * center.y - (cx * cx + cy * cy));
  return { mass, center, I };
}

/** The parts of planck's broad-phase that {@link sortNewPairsAsBox2D} replaces (not in planck's types). */
interface PlanckBroadPhase {
  m_moveBuffer: (number | null)[];
  m_tree: { getFatAABB(id: number): unknown; query(aabb: unknown, callback: (id: number) => boolean): void };
  getUserData(id: number): unknown;
  updatePairs(addPair: (userDataA: unknown, userDataB: unknown) => void): void;
}

/**
 * Make `world` create new contacts in Box2D 2.3's order. Box2D's `b2BroadPhase::UpdatePairs`
 * (b2BroadPhase.h) collects the new proxy pairs, sorts them by (lower id, higher id), drops
 * duplicates and then creates the contacts; planck 1.4 creates each contact as its tree query finds
 * it. The order matters: contacts are prepended to the world's list, the list is walked in that
 * order each step (so it decides the solver's order too), and Gymnasium's leg contact flags are
 * "last begin/end event wins". In BipedalWalker with planck's order a foot resting across two
 * terrain edges can read 1 where Box2D reads 0: against Box2D 2.3's C++ on the same terrain and
 * random torques, the flags differ within 55 steps without this and agree for the 60 recorded
 * steps with it. Proxy ids rise with creation order in planck,
 * as they do in a fresh Box2D world, so sorting by them gives Box2D's order.
 */
export function sortNewPairsAsBox2D(world: World): void {
  const broadPhase = (world as unknown as { m_broadPhase?: PlanckBroadPhase }).m_broadPhase;
  if (
    broadPhase === undefined ||
    !Array.isArray(broadPhase.m_moveBuffer) ||
    typeof broadPhase.m_tree?.query !== "function" ||
    typeof broadPhase.updatePairs !== "function"
  ) {
    // a planck upgrade changed its internals: fail loudly rather than drift from Box2D silently
    throw new ProximalError(
      "INTERNAL",
      "planck's broad-phase internals (m_broadPhase.m_moveBuffer, m_tree, updatePairs) changed; update sortNewPairsAsBox2D in src/envs/box2d/planckAsBox2d.ts for this planck version.",
    );
  }
  const pairs: number[] = [];
  broadPhase.updatePairs = function (addPair) {
    pairs.length = 0;
    while (this.m_moveBuffer.length > 0) {
      const queryId = this.m_moveBuffer.pop();
      if (queryId === null || queryId === undefined) continue;
      this.m_tree.query(this.m_tree.getFatAABB(queryId), (id: number) => {
        if (id !== queryId) pairs.push(Math.min(id, queryId), Math.max(id, queryId));
        return true;
      });
    }
    const order = Array.from({ length: pairs.length / 2 }, (_, k) => k);
    order.sort((p, q) => pairs[2 * p] - pairs[2 * q] || pairs[2 * p + 1] - pairs[2 * q + 1]);
    let lastA = -1;
    let lastB = -1;
    for (const k of order) {
      const a = pairs[2 * k];
      const b = pairs[2 * k + 1];
      if (a === lastA && b === lastB) continue;
      lastA = a;
      lastB = b;
      addPair(this.getUserData(a), this.getUserData(b));
    }
  };
}
