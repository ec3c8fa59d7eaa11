// The TypeScript client measured against the work an offline check cannot avoid (bench/clients_offline.py).
// node bench.js bare BENCH_DIR N | check CLIENT DATA_DIR PRODUCT PUBLIC_KEY N | start CLIENT DATA_DIR PRODUCT PUBLIC_KEY
"use strict";
const { createPublicKey, verify } = require("node:crypto");
const { readFileSync } = require("node:fs");
const { open, readdir } = require("node:fs/promises");
const { join } = require("node:path");

// Seconds per call (wall, CPU of the whole process) of `n` awaited calls, after n / 2 to warm up.
async function timed(n, fn) {
  for (let i = 0; i < n / 2; i++) await fn();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return `${wall / n} ${(used.user + used.system) / 1e6 / n}`;
}

// As the client reads the hardware (fs/promises, asynchronous, so that an Electron main process
// never blocks), into one buffer allocated once.
const buffer = Buffer.alloc(1 << 20);
async function readAll(path) {
  const handle = await open(path, "r");
  try {
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0 || length + bytesRead === buffer.length) return length + bytesRead;
      length += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

async function bare(dir, n) {
  const body = readFileSync(join(dir, "body.bin"));
  const sig = readFileSync(join(dir, "sig.bin"));
  const der = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), readFileSync(join(dir, "pub.bin"))]);
  const key = createPublicKey({ key: der, format: "der", type: "spki" });
  const paths = readFileSync(join(dir, "files.txt"), "utf8").split("\n").filter(Boolean);
  const check = () => {
    if (!verify(null, body, key, sig)) throw new Error("signature does not verify");
  };
  // As the client: the state file read synchronously, the hardware asynchronously.
  const reads = async () => {
    readFileSync(paths[0]);
    for (const path of paths.slice(1)) {
      if (path.endsWith("/")) await readdir(path);
      else await readAll(path);
    }
    check();
  };
  console.log(`verify ${await timed(n, check)}`);
  console.log(`unavoidable ${await timed(n, reads)}`);
  // The client reads the hardware once per process and keeps it: after the first check, only the
  // state file is read again.
  console.log(`state_only ${await timed(n, () => { readFileSync(paths[0]); check(); })}`);
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "bare") return bare(args[0], Number(args[1]));
  const { Licentia } = require(args[0]);
  const lic = new Licentia({ serverUrl: "http://127.0.0.1:9", product: args[2], publicKey: args[3], dataDir: args[1] });
  if (mode === "check") {
    console.log(`check ${await timed(Number(args[4]), () => lic.check({ online: false }))}`);
  } else {
    const status = await lic.check({ online: false });
    console.log(`${status.allowed} ${status.state}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
