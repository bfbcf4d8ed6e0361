import { type Body, Box as BoxShape, type Contact, Edge, Polygon, RevoluteJoint, Vec2, World } from "planck";
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
import { RgbCanvas } from "../render/rgbCanvas.js";
import { Box } from "../spaces/box.js";
import { Discrete } from "../spaces/discrete.js";
import { checkCanStep, checkDiscreteAction, readBoxAction } from "../validateAction.js";
import { polygonMassData, sortNewPairsAsBox2D } from "./planckAsBox2d.js";

// Constants of Gymnasium's lunar_lander.py.
const fps = 50;
const scale = 30.0;
const mainEnginePower = 13.0;
const sideEnginePower = 0.6;
const initialRandom = 1000.0;
const landerPoly = [
  [-14, 17],
  [-17, 0],
  [-17, -10],
  [17, -10],
  [17, 0],
  [14, 17],
];
const legAway = 20;
const legDown = 18;
const legW = 2;
const legH = 8;
const legSpringTorque = 40;
const sideEngineHeight = 14.0;
const sideEngineAway = 12.0;
const viewportW = 600;
const viewportH = 400;
const chunks = 11;

/** Options of LunarLander-v3 (Gymnasium's keyword arguments, camelCased). */
export interface LunarLanderOptions {
  /** Box(-1, 1, [2]) actions (main throttle, lateral) instead of Discrete(4). @defaultValue false */
  continuous?: boolean;
  /** Gravity, in (-12, 0). @defaultValue -10 */
  gravity?: number;
  /** Apply wind and turbulence while the lander flies. @defaultValue false */
  enableWind?: boolean;
  /** Maximum linear wind force; 0 to 20 recommended. @defaultValue 15 */
  windPower?: number;
  /** Maximum rotational wind torque; 0 to 2 recommended. @defaultValue 1.5 */
  turbulencePower?: number;
  /** What `render()` returns (rgb_array only). */
  renderMode?: RenderMode;
}

/**
 * LunarLander-v3 (Oleg Klimov; Gymnasium 1.x `box2d/lunar_lander.py`), on planck 1.4, a
 * maintained JavaScript port of Box2D 2.x (the engine Gymnasium's pybox2d wraps, so joint, contact
 * and sleep semantics carry over; it is pure JS, typed, runs in browsers, and is widely used).
 *
 * Same terrain generation, engines (dispersion, impulses), reward shaping
 * (`-100 |pos| - 100 |vel| - 100 |angle| + 10 per leg contact`, minus 0.3 per main-engine frame
 * and 0.03 per side-engine frame), termination (crash or |x| >= 1: -100; at rest: +100), wind and
 * turbulence, and observation layout `[x, y, vx, vy, angle, angularVelocity, leftLeg, rightLeg]`.
 * Physics: with the same terrain, initial force, engine dispersions and actions, observations and
 * rewards match Box2D 2.3's C++ (the sources pybox2d 2.3.10 wraps; fixture test) to 1.2e-4 over
 * the 60 recorded steps, and Gymnasium's heuristic lands in the same number of steps with the same
 * return on 8 of 10 seeds. That takes the corrections of planckAsBox2d.ts (the lander's mass data,
 * Box2D's order of creating contacts), the legs' joint reference angles as pybox2d sets them, and
 * the floor edge's default friction. Box2D computes in float32 and planck in float64, so long
 * trajectories still part ways. Continuous actions are clipped to
 * [-1, 1], as in Gymnasium. Particles are decoration and are not simulated.
 *
 * `getState()`/`setState()` throw `INVALID_ARGUMENT`: Box2D's internal state (contacts,
 * warm-starting impulses, sleep timers) cannot be captured, so a checkpoint could not resume
 * bit-exactly. Checkpoint training runs between episodes instead.
 */
export class LunarLanderEnv implements Env<Float32Array, number | Float32Array | number[]> {
  readonly observationSpace = new Box(
    [-2.5, -2.5, -10.0, -10.0, -2 * Math.PI, -10.0, 0, 0],
    [2.5, 2.5, 10.0, 10.0, 2 * Math.PI, 10.0, 1, 1],
  );
  readonly actionSpace: Discrete | Box;
  readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: fps };
  spec?: EnvSpec;
  readonly renderMode?: RenderMode;
  readonly continuous: boolean;
  private readonly gravity: number;
  private readonly enableWind: boolean;
  private readonly windPower: number;
  private readonly turbulencePower: number;
  private readonly rng = new Rng(0);
  private seeded = false;
  private world: World | null = null;
  private lander: Body | null = null;
  private legs: Body[] = [];
  private legContact = [false, false];
  private gameOver = false;
  private prevShaping: number | null = null;
  private windIndex = 0;
  private torqueIndex = 0;
  private helipadX1 = 0;
  private helipadX2 = 0;
  private helipadY = 0;
  private terrain: [number, number][] = [];
  private episodeOver = false;
  private readonly actionBuffer = new Float32Array(2);

  constructor(options: LunarLanderOptions = {}) {
    this.continuous = options.continuous ?? false;
    this.gravity = options.gravity ?? -10.0;
    if (!(this.gravity > -12.0 && this.gravity < 0.0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `LunarLander: gravity must be between -12 and 0 (exclusive), got ${this.gravity}.`,
      );
    }
    this.enableWind = options.enableWind ?? false;
    this.windPower = options.windPower ?? 15.0;
    this.turbulencePower = options.turbulencePower ?? 1.5;
    this.renderMode = options.renderMode;
    this.actionSpace = this.continuous ? new Box(-1, 1, [2]) : new Discrete(4);
  }

  private get name(): string {
    return this.spec?.id ?? (this.continuous ? "LunarLanderContinuous-v3" : "LunarLander-v3");
  }

  reset(opts: ResetOptions = {}): ResetResult<Float32Array> {
    if (opts.seed !== undefined) {
      this.rng.seed(opts.seed);
      this.seeded = true;
    } else if (!this.seeded) {
      this.rng.seed(0);
      this.seeded = true;
    }
    const world = new World({ gravity: new Vec2(0, this.gravity) });
    sortNewPairsAsBox2D(world);
    this.world = world;
    this.gameOver = false;
    this.prevShaping = null;
    this.legContact = [false, false];
    const w = viewportW / scale;
    const h = viewportH / scale;

    // terrain: random heights, flattened around the helipad, smoothed by a 3-point average
    const height = Array.from({ length: chunks + 1 }, () => this.rng.uniform(0, h / 2));
    const chunkX = Array.from({ length: chunks }, (_, i) => (w / (chunks - 1)) * i);
    this.helipadX1 = chunkX[Math.floor(chunks / 2) - 1];
    this.helipadX2 = chunkX[Math.floor(chunks / 2) + 1];
    this.helipadY = h / 4;
    for (let k = -2; k <= 2; k++) height[Math.floor(chunks / 2) + k] = this.helipadY;
    // Python's height[-1] is the last element
    const smoothY = Array.from(
      { length: chunks },
      (_, i) => 0.33 * (height[i === 0 ? chunks : i - 1] + height[i] + height[i + 1]),
    );
    const moon = world.createBody();
    // pybox2d's `shapes=` keyword makes this fixture with b2FixtureDef's defaults (friction 0.2)
    moon.createFixture(new Edge(new Vec2(0, 0), new Vec2(w, 0)), { density: 0, friction: 0.2 });
    this.terrain = [];
    for (let i = 0; i < chunks - 1; i++) {
      moon.createFixture(new Edge(new Vec2(chunkX[i], smoothY[i]), new Vec2(chunkX[i + 1], smoothY[i + 1])), {
        density: 0,
        friction: 0.1,
      });
      this.terrain.push([chunkX[i], smoothY[i]]);
    }
    this.terrain.push([chunkX[chunks - 1], smoothY[chunks - 1]]);

    const initialY = viewportH / scale;
    const lander = world.createDynamicBody({ position: new Vec2(viewportW / scale / 2, initialY), angle: 0 });
    const hull = new Polygon(landerPoly.map(([x, y]) => new Vec2(x / scale, y / scale)));
    lander.createFixture(hull, {
      density: 5.0,
      friction: 0.1,
      filterCategoryBits: 0x0010,
      filterMaskBits: 0x001,
      restitution: 0.0,
    });
    lander.setMassData(polygonMassData(hull.m_vertices, 5.0));
    this.lander = lander;
    lander.applyForceToCenter(
      new Vec2(
        this.rng.uniform(-initialRandom, initialRandom),
        this.rng.uniform(-initialRandom, initialRandom),
      ),
      true,
    );

    this.legs = [-1, 1].map((i) => {
      const leg = world.createDynamicBody({
        position: new Vec2(viewportW / scale / 2 - (i * legAway) / scale, initialY),
        angle: i * 0.05,
      });
      leg.createFixture(new BoxShape(legW / scale, legH / scale), {
        density: 1.0,
        restitution: 0.0,
        filterCategoryBits: 0x0020,
        filterMaskBits: 0x001,
      });
      world.createJoint(
        new RevoluteJoint({
          bodyA: lander,
          bodyB: leg,
          localAnchorA: new Vec2(0, 0),
          localAnchorB: new Vec2((i * legAway) / scale, legDown / scale),
          // pybox2d's revoluteJointDef sets referenceAngle = bodyB.angle - bodyA.angle when it is not
          // given (Box2D_joints.i), so the legs start at joint angle 0 although they are tilted
          referenceAngle: i * 0.05,
          enableMotor: true,
          enableLimit: true,
          maxMotorTorque: legSpringTorque,
          motorSpeed: 0.3 * i,
          lowerAngle: i === -1 ? 0.9 - 0.5 : -0.9,
          upperAngle: i === -1 ? 0.9 : -0.9 + 0.5,
        }),
      );
      return leg;
    });

    world.on("begin-contact", (contact: Contact) => this.contact(contact, true));
    world.on("end-contact", (contact: Contact) => this.contact(contact, false));

    if (this.enableWind) {
      // v3: new wind and turbulence offsets every episode
      this.windIndex = this.rng.integers(-9999, 9999);
      this.torqueIndex = this.rng.integers(-9999, 9999);
    }
    this.episodeOver = false;
    // Gymnasium's reset takes one no-op step and returns its observation
    const first = this.physicsStep(this.continuous ? Float32Array.of(0, 0) : 0);
    return { observation: first.observation, info: {} };
  }

  private contact(contact: Contact, begin: boolean): void {
    const a = contact.getFixtureA().getBody();
    const b = contact.getFixtureB().getBody();
    if (begin && (a === this.lander || b === this.lander)) this.gameOver = true;
    for (let i = 0; i < 2; i++) if (this.legs[i] === a || this.legs[i] === b) this.legContact[i] = begin;
  }

  step(action: number | Float32Array | number[]): StepResult<Float32Array> {
    checkCanStep(this.name, this.world !== null, this.episodeOver);
    const checked =
      this.actionSpace instanceof Box
        ? readBoxAction(this.name, this.actionSpace, action, this.actionBuffer)
        : checkDiscreteAction(this.name, this.actionSpace, action);
    const result = this.physicsStep(checked);
    this.episodeOver = result.terminated;
    return result;
  }

  private physicsStep(action: number | Float32Array): StepResult<Float32Array> {
    const lander = this.lander!;
    const world = this.world!;
    if (this.enableWind && !(this.legContact[0] || this.legContact[1])) {
      // wind: tanh(sin(2 k t) + sin(pi k t)), k = 0.01, never periodic
      const windMag =
        Math.tanh(Math.sin(0.02 * this.windIndex) + Math.sin(Math.PI * 0.01 * this.windIndex)) *
        this.windPower;
      this.windIndex++;
      lander.applyForceToCenter(new Vec2(windMag, 0.0), true);
      const torqueMag =
        Math.tanh(Math.sin(0.02 * this.torqueIndex) + Math.sin(Math.PI * 0.01 * this.torqueIndex)) *
        this.turbulencePower;
      this.torqueIndex++;
      lander.applyTorque(torqueMag, true);
    }
    let main = 0;
    let lateral = 0;
    if (typeof action !== "number") {
      main = Math.fround(Math.min(Math.max(action[0], -1), 1));
      lateral = Math.fround(Math.min(Math.max(action[1], -1), 1));
    }
    const angle = lander.getAngle();
    const tip = [Math.sin(angle), Math.cos(angle)];
    const side = [-tip[1], tip[0]];
    const dispersion = [this.rng.uniform(-1.0, 1.0) / scale, this.rng.uniform(-1.0, 1.0) / scale];

    let mPower = 0.0;
    if ((typeof action !== "number" && main > 0.0) || action === 2) {
      mPower = typeof action !== "number" ? (Math.min(Math.max(main, 0.0), 1.0) + 1.0) * 0.5 : 1.0;
      // 4 is move a bit downwards, +-2 for randomness
      const ox = tip[0] * (4 / scale + 2 * dispersion[0]) + side[0] * dispersion[1];
      const oy = -tip[1] * (4 / scale + 2 * dispersion[0]) - side[1] * dispersion[1];
      const position = lander.getPosition();
      const impulsePos = new Vec2(position.x + ox, position.y + oy);
      lander.applyLinearImpulse(
        new Vec2(-ox * mainEnginePower * mPower, -oy * mainEnginePower * mPower),
        impulsePos,
        true,
      );
    }

    let sPower = 0.0;
    if ((typeof action !== "number" && Math.abs(lateral) > 0.5) || action === 1 || action === 3) {
      let direction: number;
      if (typeof action !== "number") {
        direction = Math.sign(lateral);
        sPower = Math.min(Math.max(Math.abs(lateral), 0.5), 1.0);
      } else {
        direction = action - 2;
        sPower = 1.0;
      }
      const ox =
        tip[0] * dispersion[0] + side[0] * (3 * dispersion[1] + (direction * sideEngineAway) / scale);
      const oy =
        -tip[1] * dispersion[0] - side[1] * (3 * dispersion[1] + (direction * sideEngineAway) / scale);
      const position = lander.getPosition();
      const impulsePos = new Vec2(
        position.x + ox - (tip[0] * 17) / scale,
        position.y + oy + (tip[1] * sideEngineHeight) / scale,
      );
      lander.applyLinearImpulse(
        new Vec2(-ox * sideEnginePower * sPower, -oy * sideEnginePower * sPower),
        impulsePos,
        true,
      );
    }

    world.step(1.0 / fps, 6 * 30, 2 * 30);

    const pos = lander.getPosition();
    const vel = lander.getLinearVelocity();
    const state = [
      (pos.x - viewportW / scale / 2) / (viewportW / scale / 2),
      (pos.y - (this.helipadY + legDown / scale)) / (viewportH / scale / 2),
      (vel.x * (viewportW / scale / 2)) / fps,
      (vel.y * (viewportH / scale / 2)) / fps,
      lander.getAngle(),
      (20.0 * lander.getAngularVelocity()) / fps,
      this.legContact[0] ? 1.0 : 0.0,
      this.legContact[1] ? 1.0 : 0.0,
    ];
    // ten points per leg contact: losing contact again after landing costs them back
    const shaping =
      -100 * Math.sqrt(state[0] * state[0] + state[1] * state[1]) -
      100 * Math.sqrt(state[2] * state[2] + state[3] * state[3]) -
      100 * Math.abs(state[4]) +
      10 * state[6] +
      10 * state[7];
    let reward = 0;
    if (this.prevShaping !== null) reward = shaping - this.prevShaping;
    this.prevShaping = shaping;
    reward -= mPower * 0.3; // less fuel spent is better, about -30 for a heuristic landing
    reward -= sPower * 0.03;
    let terminated = false;
    if (this.gameOver || Math.abs(state[0]) >= 1.0) {
      terminated = true;
      reward = -100;
    }
    if (!lander.isAwake()) {
      terminated = true;
      reward = 100;
    }
    return { observation: Float32Array.from(state), reward, terminated, truncated: false, info: {} };
  }

  render(): RenderFrame {
    if (this.world === null)
      throw new ProximalError("RESET_NEEDED", `${this.name}: render() needs a state; call reset() first.`);
    const canvas = new RgbCanvas(viewportW, viewportH, [255, 255, 255]);
    const h = viewportH / scale;
    for (let i = 0; i + 1 < this.terrain.length; i++) {
      const [x1, y1] = this.terrain[i];
      const [x2, y2] = this.terrain[i + 1];
      canvas.fillPolygon(
        [
          [x1 * scale, y1 * scale],
          [x2 * scale, y2 * scale],
          [x2 * scale, h * scale],
          [x1 * scale, h * scale],
        ],
        [0, 0, 0],
      );
    }
    for (const body of [this.lander!, ...this.legs]) {
      for (let f = body.getFixtureList(); f !== null; f = f.getNext()) {
        const shape = f.getShape() as Polygon;
        const points = shape.m_vertices.map((v) => {
          const p = body.getWorldPoint(v);
          return [p.x * scale, p.y * scale] as [number, number];
        });
        canvas.fillPolygon(points, [128, 102, 230]);
      }
    }
    for (const x of [this.helipadX1 * scale, this.helipadX2 * scale]) {
      const flagY1 = this.helipadY * scale;
      const flagY2 = flagY1 + 50;
      canvas.line(x, flagY1, x, flagY2, [255, 255, 255]);
      canvas.fillPolygon(
        [
          [x, flagY2],
          [x, flagY2 - 10],
          [x + 25, flagY2 - 5],
        ],
        [204, 204, 0],
      );
    }
    return canvas.toFrame();
  }

  close(): void {
    this.world = null;
    this.lander = null;
    this.legs = [];
  }

  /** Not supported: Box2D's internal state cannot be captured (see the class docs). */
  getState(): never {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${this.name}: getState() is not supported: Box2D's internal state (contacts, warm-starting impulses, sleep timers) cannot be captured. Checkpoint between episodes.`,
    );
  }

  /** Not supported, see {@link LunarLanderEnv.getState}. */
  setState(_state: unknown): never {
    return this.getState();
  }
}

/**
 * Gymnasium's heuristic lander controller (`heuristic()` in lunar_lander.py): point towards the
 * pad, hover proportionally to the horizontal offset, and only damp the fall once a leg touches.
 * Returns a Discrete action, or `[main, lateral]` for the continuous env.
 */
export function lunarLanderHeuristic(
  observation: ArrayLike<number>,
  continuous: boolean,
): number | Float32Array {
  const s = observation;
  let angleTarget = s[0] * 0.5 + s[2] * 1.0; // angle should point towards centre
  if (angleTarget > 0.4) angleTarget = 0.4; // more than 0.4 radians (22 degrees) is bad
  if (angleTarget < -0.4) angleTarget = -0.4;
  const hoverTarget = 0.55 * Math.abs(s[0]); // target y proportional to horizontal offset
  let angleTodo = (angleTarget - s[4]) * 0.5 - s[5] * 1.0;
  let hoverTodo = (hoverTarget - s[1]) * 0.5 - s[3] * 0.5;
  if (s[6] || s[7]) {
    angleTodo = 0;
    hoverTodo = -s[3] * 0.5; // after contact, only reduce the fall speed
  }
  if (continuous) {
    return Float32Array.of(
      Math.min(Math.max(hoverTodo * 20 - 1, -1), 1),
      Math.min(Math.max(-angleTodo * 20, -1), 1),
    );
  }
  if (hoverTodo > Math.abs(angleTodo) && hoverTodo > 0.05) return 2;
  if (angleTodo < -0.05) return 3;
  if (angleTodo > 0.05) return 1;
  return 0;
}
