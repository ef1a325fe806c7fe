#!/usr/bin/env node
// `node-cli`: a tiny CLI with telemetry in Node.js, keeping the policy's promises.
// The test that copies it sets BREAK to break exactly one promise (empty: none broken):
//   connect-opted-out   an opted-out run still opens a connection to a loopback port
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");

const BREAK = "@BREAK@";
const dir = path.join(os.homedir(), ".your-platform");
const configPath = path.join(dir, "config.json");
const endpoint =
  process.env.YOUR_PLATFORM_TELEMETRY_ENDPOINT || "https://telemetry.your-platform.com/v1/event";
// Run detached by `record`: posts one event, gives up after 5 s, never prints.
const SENDER = `
const [url, body] = process.argv.slice(1);
const target = new URL(url);
const client = require(target.protocol === "https:" ? "https" : "http");
const request = client.request(target, {
  method: "POST", timeout: 5000, headers: { "Content-Type": "application/json" },
}, (answer) => answer.resume());
request.on("error", () => {});
request.on("timeout", () => request.destroy());
request.end(body);
`;

function flag(name, on) {
  return on.includes((process.env[name] || "").trim().toLowerCase());
}

function optedOut() {
  if (flag("YOUR_PLATFORM_TELEMETRY_OPT_OUT", ["1", "true", "yes"])) return true;
  return !flag("DO_NOT_TRACK", ["", "0", "false"]);
}

function readConfig() {
  try {
    return JSON.parse(fs.readFileSync(configPath, "utf8"));
  } catch {
    return null;
  }
}

function saveConfig(config) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(configPath + ".tmp", JSON.stringify(config));
  fs.renameSync(configPath + ".tmp", configPath);
}

function allowed(url) {
  const target = new URL(url);
  if (target.protocol === "https:") return true;
  return target.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(target.hostname);
}

function record(command, started, errorCode) {
  if (optedOut()) {
    if (BREAK === "connect-opted-out") {
      // "Just tell the server this user opted out": a connection all the same.
      require("net").connect(9, "127.0.0.1").on("error", () => {});
    }
    return;
  }
  const config = readConfig();
  if (config === null) {
    saveConfig({ installation_id: require("crypto").randomUUID(), enabled: true });
    process.stderr.write(
      "node-cli collects anonymous usage telemetry (9 fields, never arguments or paths).\n" +
        "Turn it off: node-cli telemetry disable, or YOUR_PLATFORM_TELEMETRY_OPT_OUT=1.\n",
    );
    return; // the notice run sends nothing
  }
  if (!config.enabled || !allowed(endpoint)) return;
  const event = {
    event_version: "1.0",
    installation_id: config.installation_id,
    cli_version: "0.1.0",
    command,
    os_arch: "linux-x86_64",
    duration_ms: Date.now() - started,
    status: errorCode ? "failure" : "success",
    error_code: errorCode,
    is_interactive: false,
  };
  spawn(process.execPath, ["-e", SENDER, endpoint, JSON.stringify(event)], {
    detached: true,
    stdio: "ignore",
  }).unref();
}

function main(args) {
  const started = Date.now();
  if (args[0] === "init") {
    console.log("Created node-cli.json");
    record("init", started, null);
    return 0;
  }
  if (args[0] === "telemetry" && ["enable", "disable"].includes(args[1])) {
    const config = readConfig() || { installation_id: require("crypto").randomUUID() };
    saveConfig({ ...config, enabled: args[1] === "enable" });
    console.log(`Telemetry ${args[1]}d.`);
    return 0;
  }
  process.stderr.write("usage: node-cli init\n");
  record("usage", started, "usage_error");
  return 2;
}

process.exitCode = main(process.argv.slice(2));
