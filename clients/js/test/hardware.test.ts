/** Fingerprint readers on fake machines: Linux sysfs/procfs trees, recorded Windows and macOS command output. */

import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";

import { readHardware, type CommandRunner } from "../src/hardware";
import { takeFingerprint } from "../src/fingerprint";
import { componentHash } from "../src/rules";
import { FakeMachine, tempDir } from "./support";
import { vectors, type Case } from "./vectors";

describe("Linux readers", async () => {
  it("read the machine id, the disk of the data dir, the CPU and the card's own MAC", async () => {
    const m = new FakeMachine(tempDir("hw"), { machine: "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59", disk: "S3Z9NB0K123456" });
    const raw = await readHardware("/home/ada/.local/share/my-app", { root: m.root });
    assert.deepEqual(raw, {
      machine: "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59",
      disk: "S3Z9NB0K123456",
      cpu: "GenuineIntel|6|142|Intel(R) Core(TM) i7-8650U|10",
      mac: "3c:52:82:10:aa:bb",
      virtualSignals: [],
    });
  });

  it("hash every component with the product, so raw values never leave the machine", async () => {
    const m = new FakeMachine(tempDir("hw"), { machine: "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59" });
    const fp = await takeFingerprint("my-app", "/data", { root: m.root });
    assert.equal(fp.components.machine, componentHash("my-app", "machine", "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59"));
    assert.deepEqual(fp.used, ["machine", "disk", "cpu", "mac"]);
    assert.ok(!JSON.stringify(fp.toRequest()).includes("4f1c2b7e"));
    assert.notEqual((await takeFingerprint("other-app", "/data", { root: m.root })).components.machine, fp.components.machine);
  });

  it("give fewer components, never an error, on a bare container", async () => {
    const root = tempDir("empty");
    assert.deepEqual(await readHardware("/data", { root }), { machine: null, disk: null, cpu: null, mac: null, virtualSignals: [] });
  });

  it("skip an all-zero machine id, overlay mounts and randomised addresses", async () => {
    const m = new FakeMachine(tempDir("hw"), { machine: "00000000000000000000000000000000", mac: "02:11:22:33:44:55" });
    m.write("var/lib/dbus/machine-id", "dbus-id-1");
    m.write("proc/self/mountinfo", "29 1 0:1 / / rw - overlay overlay rw");
    const raw = await readHardware("/data", { root: m.root });
    assert.deepEqual([raw.machine, raw.disk, raw.mac], ["dbus-id-1", null, null]);
  });

  it("find the disk through /dev/disk/by-id when sysfs has no serial, on the longest mount", async () => {
    const m = new FakeMachine(tempDir("hw"));
    m.write("proc/self/mountinfo", "29 1 8:1 / / rw - ext4 /dev/sda1 rw\n30 29 8:17 / /home\\040x rw - ext4 /dev/sdb1 rw");
    mkdirSync(join(m.root, "sys/block/sdb/sdb1"), { recursive: true });
    mkdirSync(join(m.root, "dev/disk/by-id"), { recursive: true });
    symlinkSync("../../sdb", join(m.root, "dev/disk/by-id/ata-Samsung_SSD_860_S3Z9"));
    symlinkSync("../../sdb1", join(m.root, "dev/disk/by-id/ata-Samsung_SSD_860_S3Z9-part1"));
    assert.equal((await readHardware("/home x/ada", { root: m.root })).disk, "ata-Samsung_SSD_860_S3Z9");
    assert.equal((await readHardware("/opt", { root: m.root })).disk, "S3Z9NB0K");
  });

  it("report virtual machine and container signals", async () => {
    const m = new FakeMachine(tempDir("hw"));
    m.write("sys/class/dmi/id/sys_vendor", "QEMU");
    m.setCpu("i7", "fpu hypervisor sse2");
    m.write(".dockerenv", "");
    m.write("proc/1/cgroup", "0::/kubepods/besteffort/pod1");
    assert.deepEqual((await readHardware("/", { root: m.root })).virtualSignals, ["dmi:qemu", "cpu:hypervisor", "docker", "cgroup:kubepods"]);
    assert.equal((await takeFingerprint("my-app", "/", { root: m.root })).virtual, true);
  });
});

const WINDOWS_OUTPUT: Record<string, string> = {
  "SOFTWARE\\Microsoft\\Cryptography":
    "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n    MachineGuid    REG_SZ    4c4c4544-0042-3510-8052-b7c04f4e3132\r\n\r\n",
  "HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0":
    "\r\nHKEY_LOCAL_MACHINE\\HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0\r\n" +
    "    Component Information    REG_BINARY    00000000\r\n" +
    "    Identifier    REG_SZ    Intel64 Family 6 Model 142 Stepping 10\r\n" +
    "    ProcessorNameString    REG_SZ    Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\r\n" +
    "    VendorIdentifier    REG_SZ    GenuineIntel\r\n    ~MHz    REG_DWORD    0x834\r\n",
};

function windowsRunner(calls: string[][]): CommandRunner {
  return (file, args) => {
    calls.push([file, ...args]);
    if (file.endsWith("reg.exe")) return WINDOWS_OUTPUT[(args[1] ?? "").replace(/^HKLM\\/, "")] ?? null;
    if (file.endsWith("cmd.exe")) return " Volume in drive D is Data\r\n Numéro de série du volume : 1A2B-3C4D\r\n";
    return null;
  };
}

describe("Windows readers (recorded reg.exe and vol output)", async () => {
  it("read MachineGuid, the data volume's serial, the CPU and a card's MAC, by absolute paths", async () => {
    const calls: string[][] = [];
    const raw = await readHardware("D:\\Users\\Åsa\\AppData\\Roaming\\my-app", {
      platform: "win32",
      run: windowsRunner(calls),
      env: { SystemRoot: "C:\\Windows" },
      interfaces: () => ({
        "vEthernet (WSL)": [{ mac: "02:15:5d:aa:bb:cc", internal: false }],
        Ethernet: [{ mac: "3C:52:82:10:AA:BB", internal: false }],
        "Loopback Pseudo-Interface 1": [{ mac: "00:00:00:00:00:00", internal: true }],
      }),
    });
    assert.deepEqual(raw, {
      machine: "4c4c4544-0042-3510-8052-b7c04f4e3132",
      disk: "1A2B3C4D",
      cpu: "GenuineIntel|Intel64 Family 6 Model 142 Stepping 10|Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz",
      mac: "3c:52:82:10:aa:bb",
      virtualSignals: [],
    });
    assert.ok(calls.every(([file]) => /^C:\\Windows\\System32\\(reg|cmd)\.exe$/.test(file ?? "")), JSON.stringify(calls));
    assert.deepEqual(calls.find(([f]) => f?.endsWith("cmd.exe"))?.slice(1), ["/d", "/c", "vol", "D:"]);
  });

  it("give nulls when the commands fail, and no disk for a network share", async () => {
    const raw = await readHardware("\\\\server\\share\\my-app", { platform: "win32", run: () => null, env: {}, interfaces: () => ({}) });
    assert.deepEqual(raw, { machine: null, disk: null, cpu: null, mac: null, virtualSignals: [] });
  });
});

describe("macOS readers (recorded ioreg and uname output)", () => {
  it("read IOPlatformUUID and the CPU brand", async () => {
    const run: CommandRunner = (file) =>
      file === "/usr/sbin/ioreg"
        ? '+-o J314sAP  <class IOPlatformExpertDevice>\n    "IOPlatformUUID" = "6B29FC40-CA47-1067-B31D-00DD010662DA"\n'
        : file === "/usr/bin/uname"
          ? "arm\n"
          : null;
    const raw = await readHardware("/Users/ada/Library/Application Support/my-app", {
      platform: "darwin",
      run,
      arch: "arm64",
      interfaces: () => ({ en0: [{ mac: "3c:52:82:10:aa:bb", internal: false }] }),
    });
    assert.deepEqual(raw, { machine: "6B29FC40-CA47-1067-B31D-00DD010662DA", disk: null, cpu: "arm64|arm", mac: "3c:52:82:10:aa:bb", virtualSignals: [] });
  });
});

describe("Linux readers against the conformance trees", async () => {
  for (const c of vectors.linux_readers as Case[]) {
    it(c.name, async () => {
      const root = tempDir("tree");
      for (const rel of c.dirs as string[]) mkdirSync(join(root, rel), { recursive: true });
      for (const [rel, text] of Object.entries(c.files as Record<string, string>)) {
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        writeFileSync(join(root, rel), text);
      }
      for (const [rel, target] of Object.entries(c.links as Record<string, string>)) {
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        symlinkSync(target, join(root, rel));
      }
      const raw = await readHardware(c.data_dir, { root });
      assert.deepEqual({ machine: raw.machine, disk: raw.disk, cpu: raw.cpu, mac: raw.mac }, c.expected);
    });
  }
});
