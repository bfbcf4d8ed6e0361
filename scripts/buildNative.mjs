// Builds the optional native backend (native/*.cc, an N-API addon) into build/native/proximal.node.
// Runs as part of `npm run build` (so `npm ci` builds it through `prepare`), fully offline: it calls
// the C++ compiler directly with Node's own N-API headers, found on this machine, instead of node-gyp
// (which downloads headers from nodejs.org unless pointed at a local copy).
//
// Optional by design: when there is no compiler, no headers, or the compile fails, it prints one
// notice saying why and how to fix it, exits 0, and proximal uses its WebAssembly backend.
// PROXIMAL_NATIVE=0 skips it; PROXIMAL_NATIVE=1 makes a failure an error (CI on machines that must
// have it). One build loads on every Node >= 20: N-API is ABI-stable across versions.
//
// x86-64: kernels.cc is compiled three times (AVX-512, AVX2+FMA, baseline SSE2) and the addon picks
// one at load time from the CPU's features. Other architectures get the generic path only, which
// GCC/Clang auto-vectorise for the target's baseline (NEON on arm64; not tested here).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "native");
// PROXIMAL_NATIVE_OUT redirects the output (the tests build into a temporary directory)
const outDir = process.env.PROXIMAL_NATIVE_OUT || join(root, "build", "native");
const target = join(outDir, "proximal.node");
const statusFile = join(outDir, "status.json");
const mode = process.env.PROXIMAL_NATIVE ?? "";

/** Record why there is no addon (nativeBackend.ts reports it), print one notice, and stop. */
function skip(reason, fix) {
  mkdirSync(outDir, { recursive: true });
  rmSync(target, { force: true });
  writeFileSync(statusFile, `${JSON.stringify({ built: false, reason }, null, 2)}\n`);
  const message = `proximal: native backend not built: ${reason}. proximal will use its WebAssembly backend. ${fix}`;
  if (mode === "1") {
    console.error(`${message}\n(PROXIMAL_NATIVE=1 makes this an error.)`);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

if (mode === "0")
  skip("PROXIMAL_NATIVE=0", "Unset PROXIMAL_NATIVE and run `npm run build:native` to build it.");
if (platform() === "win32") {
  skip(
    "Windows builds need node.lib and MSVC, which this script does not drive",
    "Use the wasm backend, or build with node-gyp.",
  );
}

/** The first directory holding node_api.h: $PROXIMAL_NODE_HEADERS, Node's own install, the distro's. */
function findHeaders() {
  const candidates = [
    process.env.PROXIMAL_NODE_HEADERS,
    join(dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ].filter(Boolean);
  try {
    // the node-api-headers npm package, when installed, has exactly these headers
    candidates.push(
      join(dirname(fileURLToPath(import.meta.resolve("node-api-headers/package.json"))), "include"),
    );
  } catch {
    // not installed: fine
  }
  return candidates.find((dir) => existsSync(join(dir, "node_api.h")));
}

function findCompiler() {
  const candidates = [process.env.CXX, "c++", "g++", "clang++"].filter(Boolean);
  return candidates.find((cxx) => spawnSync(cxx, ["--version"], { stdio: "ignore" }).status === 0);
}

const headers = findHeaders();
if (headers === undefined) {
  skip(
    "no N-API headers (node_api.h) found",
    "Install Node's headers (Debian: apt-get install libnode-dev; or npm i node-api-headers) or set PROXIMAL_NODE_HEADERS to their directory, then run `npm run build:native`.",
  );
}
const cxx = findCompiler();
if (cxx === undefined) {
  skip(
    "no C++ compiler found (tried $CXX, c++, g++, clang++)",
    "Install one (Debian: apt-get install g++) and run `npm run build:native`.",
  );
}

const x86 = arch() === "x64";
// per path: [name, compiler flags, floats per vector, micro-tile rows, vectors per micro-tile row]
// AVX-512: 12x32 tile = 24 of 32 zmm accumulators; AVX2: 6x16 = 12 of 16 ymm; generic: 6x8 in xmm/NEON
const paths = x86
  ? [
      ["avx512", ["-mavx512f", "-mavx512vl", "-mavx2", "-mfma"], 16, 12, 2],
      ["avx2", ["-mavx2", "-mfma"], 8, 6, 2],
      ["generic", [], 4, 6, 2],
    ]
  : [["generic", [], 4, 6, 2]];

const common = [
  "-O3",
  "-std=gnu++17",
  "-fPIC",
  "-pthread",
  "-fvisibility=hidden",
  // FMA contraction is what the GEMM relies on; errno-free math lets sqrt become one instruction
  "-ffp-contract=fast",
  "-fno-math-errno",
  "-Wall",
  "-Wno-unused-function",
  `-I${headers}`,
  "-DNODE_GYP_MODULE_NAME=proximal_native",
  ...(x86 ? ["-DPX_HAVE_X86_PATHS"] : []),
];

const tmpDir = join(outDir, "obj");
mkdirSync(tmpDir, { recursive: true });
const objects = [];
try {
  for (const [name, flags, vf, mr, nv] of paths) {
    const obj = join(tmpDir, `kernels_${name}.o`);
    const defines = [
      `-DPX_TABLE=px_kernels_${name}`,
      `-DPX_ISA="${name}"`,
      `-DPX_VF=${vf}`,
      `-DPX_MR=${mr}`,
      `-DPX_NV=${nv}`,
    ];
    execFileSync(cxx, [...common, ...flags, ...defines, "-c", join(src, "kernels.cc"), "-o", obj], {
      stdio: "inherit",
    });
    objects.push(obj);
  }
  const addonObj = join(tmpDir, "addon.o");
  execFileSync(cxx, [...common, "-c", join(src, "addon.cc"), "-o", addonObj], { stdio: "inherit" });
  objects.push(addonObj);
  // N-API symbols resolve against the running node binary at load time
  const linkFlags = platform() === "darwin" ? ["-undefined", "dynamic_lookup"] : [];
  execFileSync(cxx, ["-shared", "-pthread", ...linkFlags, ...objects, "-o", `${target}.tmp`, "-lm"], {
    stdio: "inherit",
  });
  renameSync(`${target}.tmp`, target);
} catch (error) {
  skip(
    `compiling native/ with ${cxx} failed (${error.message.split("\n")[0]})`,
    "The compiler output is above; fix it or set PROXIMAL_NATIVE=0 to skip this step.",
  );
}

// loading it here catches a broken link (missing symbol, wrong architecture) at install time
const probe = spawnSync(
  process.execPath,
  ["-e", `const m = require(${JSON.stringify(target)}); process.stdout.write(m.isa())`],
  { encoding: "utf8" },
);
if (probe.status !== 0) {
  skip(
    `the built addon does not load (${probe.stderr.trim().split("\n")[0]})`,
    "Report this as a bug; set PROXIMAL_NATIVE=0 to skip this step.",
  );
}
writeFileSync(
  statusFile,
  `${JSON.stringify({ built: true, compiler: cxx, headers, paths: paths.map((p) => p[0]) }, null, 2)}\n`,
);
console.log(`native: ${paths.map((p) => p[0]).join(", ")} kernels -> ${target} (this CPU: ${probe.stdout})`);
