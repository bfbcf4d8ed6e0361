import {
  type Body,
  Box as BoxShape,
  type Contact,
  Edge,
  type Fixture,
  Polygon,
  RevoluteJoint,
  Vec2,
  World,
} from "planck";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import type {
  Env,
  EnvMetadata,
  EnvSpec,
  RenderFrame,
  RenderMode,
  ResetOptions,
  ResetResult,
  StepResult,
} from "../env.js";
import { type Rgb, RgbCanvas } from "../render/rgbCanvas.js";
import { TextCanvas } from "../render/textCanvas.js";
import { Box } from "../spaces/box.js";
import { checkCanStep, readBoxAction } from "../validateAction.js";
import { polygonMassData, sortNewPairsAsBox2D } from "./planckAsBox2d.js";

// Constants of Gymnasium 1.4.0's gymnasium/envs/box2d/bipedal_walker.py, lines 33-54.
const fps = 50;
const scale = 30.0; // affects how fast-paced the game is; forces are tuned to it
const motorsTorque = 80;
const speedHip = 4;
const speedKnee = 6;
const lidarRange = 160 / scale;
const initialRandom = 5;
const hullPoly = [
  [-30, 9],
  [6, 9],
  [34, 1],
  [34, -8],
  [-30, -8],
];
const legDown = -8 / scale;
const legW = 8 / scale;
const legH = 34 / scale;
const viewportW = 600;
const viewportH = 400;
const terrainStep = 14 / scale;
const terrainLength = 200; // in steps
const terrainHeight = viewportH / scale / 4;
const terrainGrass = 10; // low long grass spots, in steps
const terrainStartpad = 20; // in steps
const friction = 2.5;

// Terrain generator states (bipedal_walker.py line 284: GRASS, STUMP, STAIRS, PIT, _STATES_ = range(5)).
const GRASS = 0;
const STUMP = 1;
const STAIRS = 2;
const PIT = 3;
const STATES = 4;

/** Options of BipedalWalker-v3 (Gymnasium's keyword arguments, camelCased). */
export interface BipedalWalkerOptions {
  /** Stumps, pits and stairs between the grass (BipedalWalkerHardcore-v3). @defaultValue false */
  hardcore?: boolean;
  /** What `render()` returns: an RGB frame (default) or a text picture (`"ansi"`). */
  renderMode?: RenderMode;
}

/** One lidar ray of the last step: from the hull to its first terrain hit (or full range). */
interface LidarRay {
  p1x: number;
  p1y: number;
  p2x: number;
  p2y: number;
  fraction: number;
}

/** A static terrain piece, kept for rendering: an edge (2 points) or a polygon obstacle. */
interface TerrainPiece {
  points: [number, number][];
  color1: Rgb;
  color2: Rgb;
}

// float32 bounds, as Gymnasium declares them with .astype(np.float32) (lines 201-246); the joint
// speeds get 5x their rated range because ground impacts spin them faster
const pi32 = Math.fround(Math.PI);
const obsLow = [
  -pi32,
  -5,
  -5,
  -5,
  -pi32,
  -5,
  -pi32,
  -5,
  -0,
  -pi32,
  -5,
  -pi32,
  -5,
  -0,
  ...new Array(10).fill(-1),
];
const obsHigh = [pi32, 5, 5, 5, pi32, 5, pi32, 5, 5, pi32, 5, pi32, 5, 5, ...new Array(10).fill(1)];

/**
 * BipedalWalker-v3 and its hardcore variant (Oleg Klimov; Gymnasium 1.4.0
 * `box2d/bipedal_walker.py`), on planck 1.4, the JavaScript port of Box2D 2.x that LunarLander
 * uses (joint, contact and ray-cast semantics carry over from the Box2D 2.3 that pybox2d wraps).
 *
 * A hull on two legs of two segments each, driven by four motors (hips and knees).
 * - Observation (24, float32): hull angle, angular velocity, horizontal and vertical speed; for each
 *   leg the hip angle and speed, the knee angle (+1) and speed, and whether the lower leg touches
 *   the ground; then 10 lidar fractions (1 = nothing within range), fanned out below the hull.
 * - Action: Box(-1, 1, [4]), torques for hip 1, knee 1, hip 2, knee 2. Each motor drives its joint
 *   towards its top speed in the action's sign with a torque limit of 80 |a|. Out-of-range values
 *   are clipped to [-1, 1], as Gymnasium's step does with np.clip; NaN and wrong shapes throw.
 * - Reward: forward progress (130 x / SCALE, about 300 to the far end), minus 5 |hull angle|
 *   (both as a difference of shaping), minus 0.00035 x 80 x |a_i| per motor; -100 and
 *   `terminated` when the hull touches the ground or the walker leaves the left edge; `terminated`
 *   (no penalty) on reaching the far end.
 * - Terrain: 200 steps of grass with a flat start pad; `hardcore: true` inserts stumps, pits and
 *   stairs. Time limits (registered): 1600 steps, 2000 for BipedalWalkerHardcore-v3.
 *
 * Physics: on the same terrain and actions, observations and rewards match Box2D 2.3's C++ (the
 * sources pybox2d 2.3.10 wraps) within 6e-5 over the first 40 steps (fixture test; Box2D computes
 * in float32, planck in float64, so trajectories part ways later, as any chaotic system's do).
 * That takes two corrections to planck 1.4.2, both below: the hull's mass data (planck's polygon
 * centroid is wrong) and Box2D's order of creating contacts (it decides the leg contact flags).
 * Gymnasium's heuristic controller ({@link BipedalWalkerHeuristics}) then walks about as long as
 * on Box2D: 316-1350 steps before it falls on seeds 0-9 here, 314 steps to the full 1600 there. The terrain comes from the
 * project's Rng, not NumPy's PCG64, so seed 0 here is not seed 0 there. Box actions are read as
 * float32, like every Box env of the project.
 *
 * `getState()`/`setState()` throw `INVALID_ARGUMENT`: Box2D's internal state (contacts,
 * warm-starting impulses, sleep timers) cannot be captured, so a checkpoint could not resume
 * bit-exactly. Checkpoint training runs between episodes instead.
 */
export class BipedalWalkerEnv implements Env<Float32Array, Float32Array | number[]> {
  readonly observationSpace = new Box(obsLow, obsHigh);
  readonly actionSpace = new Box(-1, 1, [4]);
  readonly metadata: EnvMetadata = { renderModes: ["rgb_array", "ansi"], renderFps: fps };
  spec?: EnvSpec;
  readonly renderMode?: RenderMode;
  readonly hardcore: boolean;
  private readonly rng = new Rng(0);
  private seeded = false;
  private world: World | null = null;
  private hull: Body | null = null;
  /** [upper 1, lower 1, upper 2, lower 2], Gymnasium's `self.legs` order. */
  private legs: Body[] = [];
  /** [hip 1, knee 1, hip 2, knee 2], Gymnasium's `self.joints` order. */
  private joints: RevoluteJoint[] = [];
  /** Ground contact of the lower legs (Gymnasium's `legs[1].ground_contact`, `legs[3].ground_contact`). */
  private groundContact = [false, false];
  private gameOver = false;
  private prevShaping: number | null = null;
  private scroll = 0;
  private lidarRender = 0;
  private terrainX: number[] = [];
  private terrainY: number[] = [];
  private terrainPieces: TerrainPiece[] = [];
  private cloudPoly: { points: [number, number][]; x1: number; x2: number }[] = [];
  private readonly lidar: LidarRay[] = Array.from({ length: 10 }, () => ({
    p1x: 0,
    p1y: 0,
    p2x: 0,
    p2y: 0,
    fraction: 1,
  }));
  private episodeOver = false;
  private readonly actionBuffer = new Float32Array(4);

  constructor(options: BipedalWalkerOptions = {}) {
    this.hardcore = options.hardcore ?? false;
    if (typeof this.hardcore !== "boolean") {
      throw new ProximalError(
        "INVALID_OPTION",
        `BipedalWalker: hardcore must be true or false, got ${String(this.hardcore)}.`,
      );
    }
    this.renderMode = options.renderMode;
  }

  private get name(): string {
    return this.spec?.id ?? (this.hardcore ? "BipedalWalkerHardcore-v3" : "BipedalWalker-v3");
  }

  /** The terrain's surface points (x strictly increasing by TERRAIN_STEP), e.g. for tests and plots. */
  terrainProfile(): { x: number[]; y: number[] } {
    return { x: [...this.terrainX], y: [...this.terrainY] };
  }

  /** The hardcore obstacles' polygons (stumps, pit walls, stair steps), in world units. */
  obstacles(): [number, number][][] {
    return this.terrainPieces.filter((p) => p.points.length > 2).map((p) => p.points.map(([x, y]) => [x, y]));
  }

  reset(opts: ResetOptions = {}): ResetResult<Float32Array> {
    if (opts.seed !== undefined) {
      this.rng.seed(opts.seed);
      this.seeded = true;
    } else if (!this.seeded) {
      this.rng.seed(0);
      this.seeded = true;
    }
    // pybox2d's b2World() default gravity; Gymnasium keeps one world and destroys the bodies, a new
    // world per episode is the same thing
    const world = new World({ gravity: new Vec2(0, -10) });
    sortNewPairsAsBox2D(world);
    this.world = world;
    this.gameOver = false;
    this.prevShaping = null;
    this.scroll = 0.0;
    this.lidarRender = 0;
    this.groundContact = [false, false];

    // same draw order as Gymnasium (lines 446-455): terrain, clouds, then the hull's push
    this.generateTerrain(world);
    this.generateClouds();

    const initX = (terrainStep * terrainStartpad) / 2;
    const initY = terrainHeight + 2 * legH;
    const hull = world.createDynamicBody({ position: new Vec2(initX, initY) });
    const hullShape = new Polygon(hullPoly.map(([x, y]) => new Vec2(x / scale, y / scale)));
    hull.createFixture(hullShape, {
      density: 5.0,
      friction: 0.1,
      filterCategoryBits: 0x0020,
      filterMaskBits: 0x001, // collide only with the ground
      restitution: 0.0,
    });
    // the shape's vertices: Box2D's (and planck's) convex hull puts them in counter-clockwise order
    hull.setMassData(polygonMassData(hullShape.m_vertices, 5.0));
    hull.applyForceToCenter(new Vec2(this.rng.uniform(-initialRandom, initialRandom), 0), true);
    this.hull = hull;

    // lines 462-506: per side an upper leg on a hip joint and a lower leg on a knee joint
    this.legs = [];
    this.joints = [];
    for (const i of [-1, 1]) {
      const leg = world.createDynamicBody({
        position: new Vec2(initX, initY - legH / 2 - legDown),
        angle: i * 0.05,
      });
      leg.createFixture(new BoxShape(legW / 2, legH / 2), {
        density: 1.0,
        restitution: 0.0,
        filterCategoryBits: 0x0020,
        filterMaskBits: 0x001,
      });
      const hip = world.createJoint(
        new RevoluteJoint({
          bodyA: hull,
          bodyB: leg,
          localAnchorA: new Vec2(0, legDown),
          localAnchorB: new Vec2(0, legH / 2),
          // pybox2d's revoluteJointDef sets referenceAngle = bodyB.angle - bodyA.angle when it is not
          // given (Box2D_joints.i), so the hips start at joint angle 0 although the legs are tilted
          referenceAngle: i * 0.05,
          enableMotor: true,
          enableLimit: true,
          maxMotorTorque: motorsTorque,
          motorSpeed: i,
          lowerAngle: -0.8,
          upperAngle: 1.1,
        }),
      ) as RevoluteJoint;
      this.legs.push(leg);
      this.joints.push(hip);

      const lower = world.createDynamicBody({
        position: new Vec2(initX, initY - (legH * 3) / 2 - legDown),
        angle: i * 0.05,
      });
      lower.createFixture(new BoxShape((0.8 * legW) / 2, legH / 2), {
        density: 1.0,
        restitution: 0.0,
        filterCategoryBits: 0x0020,
        filterMaskBits: 0x001,
      });
      const knee = world.createJoint(
        new RevoluteJoint({
          bodyA: leg,
          bodyB: lower,
          localAnchorA: new Vec2(0, -legH / 2),
          localAnchorB: new Vec2(0, legH / 2),
          referenceAngle: 0, // both segments start at angle i * 0.05
          enableMotor: true,
          enableLimit: true,
          maxMotorTorque: motorsTorque,
          motorSpeed: 1,
          lowerAngle: -1.6,
          upperAngle: -0.1,
        }),
      ) as RevoluteJoint;
      this.legs.push(lower);
      this.joints.push(knee);
    }

    world.on("begin-contact", (contact: Contact) => this.contact(contact, true));
    world.on("end-contact", (contact: Contact) => this.contact(contact, false));

    this.episodeOver = false;
    // Gymnasium's reset takes one zero-torque step and returns its observation (line 521)
    const first = this.physicsStep(new Float32Array(4));
    return { observation: first.observation, info: {} };
  }

  /** Gymnasium's ContactDetector (lines 83-101): hull contact ends the episode; lower legs report touch. */
  private contact(contact: Contact, begin: boolean): void {
    const a = contact.getFixtureA().getBody();
    const b = contact.getFixtureB().getBody();
    if (begin && (a === this.hull || b === this.hull)) this.gameOver = true;
    for (let k = 0; k < 2; k++) {
      const leg = this.legs[2 * k + 1];
      if (leg === a || leg === b) this.groundContact[k] = begin;
    }
  }

  /** `_generate_terrain` (lines 283-408), drawing from the env's Rng instead of NumPy's. */
  private generateTerrain(world: World): void {
    let state = GRASS;
    let velocity = 0.0;
    let y = terrainHeight;
    let counter = terrainStartpad;
    let oneshot = false;
    this.terrainX = [];
    this.terrainY = [];
    const polygons: TerrainPiece[] = [];
    const addPolygon = (points: [number, number][]): void => {
      const body = world.createBody();
      body.createFixture(new Polygon(points.map(([px, py]) => new Vec2(px, py))), { friction });
      polygons.push({ points, color1: [255, 255, 255], color2: [153, 153, 153] });
    };

    let stairSteps = 0;
    let stairWidth = 0;
    let stairHeight = 0;
    let originalY = 0;
    for (let i = 0; i < terrainLength; i++) {
      const x = i * terrainStep;
      this.terrainX.push(x);

      if (state === GRASS && !oneshot) {
        velocity = 0.8 * velocity + 0.01 * Math.sign(terrainHeight - y);
        if (i > terrainStartpad) velocity += this.rng.uniform(-1, 1) / scale;
        y += velocity;
      } else if (state === PIT && oneshot) {
        counter = this.rng.integers(3, 5);
        const poly: [number, number][] = [
          [x, y],
          [x + terrainStep, y],
          [x + terrainStep, y - 4 * terrainStep],
          [x, y - 4 * terrainStep],
        ];
        addPolygon(poly);
        addPolygon(poly.map(([px, py]) => [px + terrainStep * counter, py]));
        counter += 2;
        originalY = y;
      } else if (state === PIT && !oneshot) {
        y = originalY;
        if (counter > 1) y -= 4 * terrainStep;
      } else if (state === STUMP && oneshot) {
        counter = this.rng.integers(1, 3);
        addPolygon([
          [x, y],
          [x + counter * terrainStep, y],
          [x + counter * terrainStep, y + counter * terrainStep],
          [x, y + counter * terrainStep],
        ]);
      } else if (state === STAIRS && oneshot) {
        stairHeight = this.rng.uniform() > 0.5 ? 1 : -1;
        stairWidth = this.rng.integers(4, 5);
        stairSteps = this.rng.integers(3, 5);
        originalY = y;
        for (let s = 0; s < stairSteps; s++) {
          addPolygon([
            [x + s * stairWidth * terrainStep, y + s * stairHeight * terrainStep],
            [x + (1 + s) * stairWidth * terrainStep, y + s * stairHeight * terrainStep],
            [x + (1 + s) * stairWidth * terrainStep, y + (-1 + s * stairHeight) * terrainStep],
            [x + s * stairWidth * terrainStep, y + (-1 + s * stairHeight) * terrainStep],
          ]);
        }
        counter = stairSteps * stairWidth;
      } else if (state === STAIRS && !oneshot) {
        const s = stairSteps * stairWidth - counter - stairHeight;
        const n = s / stairWidth; // Python 3 true division
        y = originalY + n * stairHeight * terrainStep;
      }

      oneshot = false;
      this.terrainY.push(y);
      counter -= 1;
      if (counter === 0) {
        counter = this.rng.integers(Math.floor(terrainGrass / 2), terrainGrass);
        if (state === GRASS && this.hardcore) {
          state = this.rng.integers(1, STATES);
        } else {
          state = GRASS;
        }
        oneshot = true;
      }
    }

    const edges: TerrainPiece[] = [];
    for (let i = 0; i < terrainLength - 1; i++) {
      const p1 = new Vec2(this.terrainX[i], this.terrainY[i]);
      const p2 = new Vec2(this.terrainX[i + 1], this.terrainY[i + 1]);
      const body = world.createBody();
      body.createFixture(new Edge(p1, p2), { friction, filterCategoryBits: 0x0001 });
      const color: Rgb = [76, i % 2 === 0 ? 255 : 204, 76];
      edges.push({
        points: [
          [p1.x, p1.y],
          [p2.x, p2.y],
        ],
        color1: color,
        color2: color,
      });
    }
    // Gymnasium appends the polygons, then the edges, and reverses the list (its draw order)
    this.terrainPieces = [...polygons, ...edges].reverse();
  }

  /** `_generate_clouds` (lines 410-429): decoration only, but drawn from the Rng in the same order. */
  private generateClouds(): void {
    this.cloudPoly = [];
    for (let c = 0; c < terrainLength / 20; c++) {
      const x = this.rng.uniform(0, terrainLength) * terrainStep;
      const y = ((viewportH / scale) * 3) / 4;
      const points: [number, number][] = [];
      for (let a = 0; a < 5; a++) {
        const px = x + 15 * terrainStep * Math.sin((3.14 * 2 * a) / 5) + this.rng.uniform(0, 5 * terrainStep);
        const py = y + 5 * terrainStep * Math.cos((3.14 * 2 * a) / 5) + this.rng.uniform(0, 5 * terrainStep);
        points.push([px, py]);
      }
      const xs = points.map((p) => p[0]);
      this.cloudPoly.push({ points, x1: Math.min(...xs), x2: Math.max(...xs) });
    }
  }

  step(action: Float32Array | number[]): StepResult<Float32Array> {
    checkCanStep(this.name, this.world !== null, this.episodeOver);
    const checked = readBoxAction(this.name, this.actionSpace, action, this.actionBuffer);
    const result = this.physicsStep(checked);
    this.episodeOver = result.terminated;
    return result;
  }

  /** Gymnasium's `step` (lines 523-613) without the checks. */
  private physicsStep(action: Float32Array): StepResult<Float32Array> {
    const hull = this.hull!;
    const world = this.world!;
    const torques = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const a = action[j];
      torques[j] = Math.min(Math.abs(a), 1);
      const joint = this.joints[j];
      joint.setMotorSpeed((j % 2 === 0 ? speedHip : speedKnee) * Math.sign(a));
      joint.setMaxMotorTorque(motorsTorque * torques[j]);
      // Box2D 2.3 (pybox2d 2.3.10) wakes both bodies on every SetMotorSpeed/SetMaxMotorTorque;
      // planck only when the value changes, so a held action could let the walker fall asleep
      joint.getBodyA().setAwake(true);
      joint.getBodyB().setAwake(true);
    }

    world.step(1.0 / fps, 6 * 30, 2 * 30);

    const pos = hull.getPosition();
    const vel = hull.getLinearVelocity();

    // lidar (lines 556-564): the closest hit on the ground (category bit 1) along each ray
    for (let i = 0; i < 10; i++) {
      const ray = this.lidar[i];
      ray.fraction = 1.0;
      ray.p1x = pos.x;
      ray.p1y = pos.y;
      ray.p2x = pos.x + Math.sin((1.5 * i) / 10.0) * lidarRange;
      ray.p2y = pos.y - Math.cos((1.5 * i) / 10.0) * lidarRange;
      world.rayCast(
        new Vec2(ray.p1x, ray.p1y),
        new Vec2(ray.p2x, ray.p2y),
        (fixture: Fixture, point: Vec2, _normal: Vec2, fraction: number): number => {
          if ((fixture.getFilterCategoryBits() & 1) === 0) return -1;
          ray.p2x = point.x;
          ray.p2y = point.y;
          ray.fraction = fraction;
          return fraction;
        },
      );
    }

    const j = this.joints;
    const state = [
      hull.getAngle(), // normally within +-0.5, more is possible
      (2.0 * hull.getAngularVelocity()) / fps,
      (0.3 * vel.x * (viewportW / scale)) / fps, // normalised to about -1..1
      (0.3 * vel.y * (viewportH / scale)) / fps,
      j[0].getJointAngle(),
      j[0].getJointSpeed() / speedHip,
      j[1].getJointAngle() + 1.0,
      j[1].getJointSpeed() / speedKnee,
      this.groundContact[0] ? 1.0 : 0.0,
      j[2].getJointAngle(),
      j[2].getJointSpeed() / speedHip,
      j[3].getJointAngle() + 1.0,
      j[3].getJointSpeed() / speedKnee,
      this.groundContact[1] ? 1.0 : 0.0,
    ];
    for (const ray of this.lidar) state.push(ray.fraction);

    this.scroll = pos.x - viewportW / scale / 5;

    // lines 587-601: moving forward earns about 300 over the course; keep the head straight; the
    // motors cost about 50 over a heuristic run
    let shaping = (130 * pos.x) / scale;
    shaping -= 5.0 * Math.abs(state[0]);
    let reward = 0;
    if (this.prevShaping !== null) reward = shaping - this.prevShaping;
    this.prevShaping = shaping;
    for (const torque of torques) reward -= 0.00035 * motorsTorque * torque;

    let terminated = false;
    if (this.gameOver || pos.x < 0) {
      reward = -100;
      terminated = true;
    }
    if (pos.x > (terrainLength - terrainGrass) * terrainStep) terminated = true;
    return { observation: Float32Array.from(state), reward, terminated, truncated: false, info: {} };
  }

  render(): RenderFrame | string {
    if (this.world === null)
      throw new ProximalError("RESET_NEEDED", `${this.name}: render() needs a state; call reset() first.`);
    return this.renderMode === "ansi" ? this.renderText() : this.renderRgb();
  }

  /**
   * Gymnasium's rgb_array frame (lines 615-767): the 600x400 window that follows the walker (its
   * left edge at `max(0, scroll)`), with sky, parallax clouds, grass, one lidar ray per frame,
   * obstacles, legs, hull and the start flag.
   */
  private renderRgb(): RenderFrame {
    const canvas = new RgbCanvas(viewportW, viewportH, [215, 215, 255]);
    // Gymnasium draws on a surface scroll*SCALE wider and keeps its last VIEWPORT_W columns
    const offset = Math.max(0.0, this.scroll) * scale;
    const px = (x: number): number => x * scale - offset;
    for (const { points, x1, x2 } of this.cloudPoly) {
      if (x2 < this.scroll / 2 || x1 > this.scroll / 2 + viewportW / scale) continue;
      canvas.fillPolygon(
        points.map(([x, y]) => [px(x) + (this.scroll * scale) / 2, y * scale]),
        [255, 255, 255],
      );
    }
    for (let i = 0; i + 1 < this.terrainX.length; i++) {
      const xa = this.terrainX[i];
      const xb = this.terrainX[i + 1];
      if (xb < this.scroll || xa > this.scroll + viewportW / scale) continue;
      canvas.fillPolygon(
        [
          [px(xa), this.terrainY[i] * scale],
          [px(xb), this.terrainY[i + 1] * scale],
          [px(xb), 0],
          [px(xa), 0],
        ],
        [102, 153, 76],
      );
    }

    this.lidarRender = (this.lidarRender + 1) % 100;
    const i = this.lidarRender;
    if (i < 2 * this.lidar.length) {
      const ray = this.lidar[i < this.lidar.length ? i : 2 * this.lidar.length - i - 1];
      canvas.line(px(ray.p1x), ray.p1y * scale, px(ray.p2x), ray.p2y * scale, [255, 0, 0]);
    }

    for (const piece of this.terrainPieces) {
      const points = piece.points.map(([x, y]) => [px(x), y * scale] as [number, number]);
      if (points.length > 2) this.outlinedPolygon(canvas, points, piece.color1, piece.color2);
      else canvas.line(points[0][0], points[0][1], points[1][0], points[1][1], piece.color1);
    }
    for (let k = 0; k < this.legs.length; k++) {
      const side = k < 2 ? -1 : 1;
      const color1: Rgb = [153 - side * 25, 76 - side * 25, 127 - side * 25];
      const color2: Rgb = [102 - side * 25, 51 - side * 25, 76 - side * 25];
      this.outlinedPolygon(canvas, this.bodyPolygon(this.legs[k], px), color1, color2);
    }
    this.outlinedPolygon(canvas, this.bodyPolygon(this.hull!, px), [127, 51, 229], [76, 76, 127]);

    const flagY1 = terrainHeight * scale;
    const flagY2 = flagY1 + 50;
    const flagX = terrainStep * 3 * scale - offset;
    canvas.line(flagX, flagY1, flagX, flagY2, [0, 0, 0]);
    const flag: [number, number][] = [
      [flagX, flagY2],
      [flagX, flagY2 - 10],
      [flagX + 25, flagY2 - 5],
    ];
    this.outlinedPolygon(canvas, flag, [230, 51, 0], [0, 0, 0]);
    return canvas.toFrame();
  }

  private bodyPolygon(body: Body, px: (x: number) => number): [number, number][] {
    const shape = body.getFixtureList()!.getShape() as Polygon;
    return shape.m_vertices.map((v) => {
      const p = body.getWorldPoint(v);
      return [px(p.x), p.y * scale];
    });
  }

  private outlinedPolygon(canvas: RgbCanvas, points: [number, number][], fill: Rgb, outline: Rgb): void {
    canvas.fillPolygon(points, fill);
    for (let k = 0; k < points.length; k++) {
      const [xa, ya] = points[k];
      const [xb, yb] = points[(k + 1) % points.length];
      canvas.line(xa, ya, xb, yb, outline);
    }
  }

  /** A terminal picture of the same window: `_` ground, `#` obstacles, `|` legs, `H` hull. */
  private renderText(): string {
    const left = Math.max(0.0, this.scroll);
    const canvas = new TextCanvas(80, 24, [left, left + viewportW / scale], [0, viewportH / scale]);
    for (let i = 0; i + 1 < this.terrainX.length; i++)
      canvas.line(this.terrainX[i], this.terrainY[i], this.terrainX[i + 1], this.terrainY[i + 1], "_");
    for (const points of this.obstacles()) {
      for (let k = 0; k < points.length; k++) {
        const [xa, ya] = points[k];
        const [xb, yb] = points[(k + 1) % points.length];
        canvas.line(xa, ya, xb, yb, "#");
      }
    }
    for (const leg of this.legs) {
      const top = leg.getWorldPoint(new Vec2(0, legH / 2));
      const bottom = leg.getWorldPoint(new Vec2(0, -legH / 2));
      canvas.line(top.x, top.y, bottom.x, bottom.y, "|");
    }
    const hull = this.hull!;
    const shape = hull.getFixtureList()!.getShape() as Polygon;
    const corners = shape.m_vertices.map((v) => hull.getWorldPoint(v));
    for (let k = 0; k < corners.length; k++) {
      const a = corners[k];
      const b = corners[(k + 1) % corners.length];
      canvas.line(a.x, a.y, b.x, b.y, "H");
    }
    return canvas.toString();
  }

  close(): void {
    this.world = null;
    this.hull = null;
    this.legs = [];
    this.joints = [];
  }

  /** Not supported: Box2D's internal state cannot be captured (see the class docs). */
  getState(): never {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${this.name}: getState() is not supported: Box2D's internal state (contacts, warm-starting impulses, sleep timers) cannot be captured. Checkpoint between episodes.`,
    );
  }

  /** Not supported, see {@link BipedalWalkerEnv.getState}. */
  setState(_state: unknown): never {
    return this.getState();
  }
}

/**
 * Gymnasium's heuristic walker (`BipedalWalkerHeuristics.step_heuristic`, bipedal_walker.py lines
 * 783-851): a three-phase gait (stand on one leg, put the other down, push off) with proportional
 * hip and knee targets, a PD term keeping the hull level and knee damping of vertical speed. It
 * "has no notion of balance" (Gymnasium's words) but walks the normal terrain. Stateful: use one
 * instance per episode.
 *
 * @example
 * const env = make("BipedalWalker-v3");
 * const controller = new BipedalWalkerHeuristics();
 * let { observation } = env.reset({ seed: 0 });
 * let action: number[] = [0, 0, 0, 0];
 * for (;;) {
 *   const r = env.step(action);
 *   if (r.terminated || r.truncated) break;
 *   action = controller.stepHeuristic(r.observation);
 * }
 */
export class BipedalWalkerHeuristics {
  static readonly STAY_ON_ONE_LEG = 1;
  static readonly PUT_OTHER_DOWN = 2;
  static readonly PUSH_OFF = 3;
  /** Faster and it falls forward. */
  static readonly SPEED = 0.29;
  static readonly SUPPORT_KNEE_ANGLE = 0.1;
  state = BipedalWalkerHeuristics.STAY_ON_ONE_LEG;
  movingLeg = 0;
  supportingLeg = 1;
  supportingKneeAngle = BipedalWalkerHeuristics.SUPPORT_KNEE_ANGLE;

  /** The next action for observation `s` (24 values), in [-1, 1]. */
  stepHeuristic(s: ArrayLike<number>): number[] {
    const H = BipedalWalkerHeuristics;
    const movingBase = 4 + 5 * this.movingLeg;
    const supportingBase = 4 + 5 * this.supportingLeg;
    // null is Python's None; like Python's `if hip_targ[0]:`, a target of exactly 0 is skipped too
    const hipTarg: (number | null)[] = [null, null]; // -0.8 .. +1.1
    const kneeTarg: (number | null)[] = [null, null]; // -0.6 .. +0.9
    const hipTodo = [0.0, 0.0];
    const kneeTodo = [0.0, 0.0];

    if (this.state === H.STAY_ON_ONE_LEG) {
      hipTarg[this.movingLeg] = 1.1;
      kneeTarg[this.movingLeg] = -0.6;
      this.supportingKneeAngle += 0.03;
      if (s[2] > H.SPEED) this.supportingKneeAngle += 0.03;
      this.supportingKneeAngle = Math.min(this.supportingKneeAngle, H.SUPPORT_KNEE_ANGLE);
      kneeTarg[this.supportingLeg] = this.supportingKneeAngle;
      if (s[supportingBase + 0] < 0.1) this.state = H.PUT_OTHER_DOWN; // supporting leg is behind
    }
    if (this.state === H.PUT_OTHER_DOWN) {
      hipTarg[this.movingLeg] = 0.1;
      kneeTarg[this.movingLeg] = H.SUPPORT_KNEE_ANGLE;
      kneeTarg[this.supportingLeg] = this.supportingKneeAngle;
      if (s[movingBase + 4]) {
        this.state = H.PUSH_OFF;
        this.supportingKneeAngle = Math.min(s[movingBase + 2], H.SUPPORT_KNEE_ANGLE);
      }
    }
    if (this.state === H.PUSH_OFF) {
      kneeTarg[this.movingLeg] = this.supportingKneeAngle;
      kneeTarg[this.supportingLeg] = 1.0;
      if (s[supportingBase + 2] > 0.88 || s[2] > 1.2 * H.SPEED) {
        this.state = H.STAY_ON_ONE_LEG;
        this.movingLeg = 1 - this.movingLeg;
        this.supportingLeg = 1 - this.movingLeg;
      }
    }

    if (hipTarg[0]) hipTodo[0] = 0.9 * (hipTarg[0] - s[4]) - 0.25 * s[5];
    if (hipTarg[1]) hipTodo[1] = 0.9 * (hipTarg[1] - s[9]) - 0.25 * s[10];
    if (kneeTarg[0]) kneeTodo[0] = 4.0 * (kneeTarg[0] - s[6]) - 0.25 * s[7];
    if (kneeTarg[1]) kneeTodo[1] = 4.0 * (kneeTarg[1] - s[11]) - 0.25 * s[12];

    hipTodo[0] -= 0.9 * (0 - s[0]) - 1.5 * s[1]; // PD to keep the head straight
    hipTodo[1] -= 0.9 * (0 - s[0]) - 1.5 * s[1];
    kneeTodo[0] -= 15.0 * s[3]; // vertical speed, to damp oscillations
    kneeTodo[1] -= 15.0 * s[3];

    const clip = (v: number): number => Math.min(Math.max(0.5 * v, -1.0), 1.0);
    return [clip(hipTodo[0]), clip(kneeTodo[0]), clip(hipTodo[1]), clip(kneeTodo[1])];
  }
}
