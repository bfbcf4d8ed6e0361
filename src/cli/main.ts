#!/usr/bin/env node
import { spawn } from "node:child_process";
import { RELAUNCHED_ENV, relaunchPlan } from "./relaunch.js";

const plan = relaunchPlan(process.argv.slice(2), process.execArgv, process.env);
if (plan !== null) {
  // `proximal train` in a child with a small young generation (relaunch.ts says why); this process
  // only waits, passes signals on, and exits as the child did
  const child = spawn(process.execPath, [...plan.execArgv, ...process.argv.slice(1)], {
    env: plan.env,
    // an IPC channel, so that the child ends itself if this launcher dies without passing a signal
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of signals) process.on(signal, forward);
  child.on("exit", (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal !== null) process.kill(process.pid, signal);
    else process.exitCode = code ?? 1;
  });
  child.on("error", (error) => {
    console.error(`proximal: could not start the training process: ${error.message}`);
    process.exitCode = 1;
  });
} else {
  if (process.env[RELAUNCHED_ENV] === "1" && process.channel !== undefined) {
    // the launcher's channel: never keeps this process alive, and its end means the launcher died
    process.channel.unref();
    process.on("disconnect", () => process.exit(1));
  }
  // `proximal algos ppo | head`: a closed pipe ends the output, not with a stack trace
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  const { runCli } = await import("./run.js");
  process.exitCode = await runCli(process.argv.slice(2));
}
