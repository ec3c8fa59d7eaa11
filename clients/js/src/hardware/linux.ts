/**
 * Linux readers: plain file reads under `root` (`/` in production, a fake tree
 * in tests); no subprocess, and asynchronous (`fs/promises`: nothing blocks an
 * Electron main process). Each returns the raw value or null and never
 * throws: a container without DMI or a disk without a serial simply gives
 * fewer components. Same sources and value forms as the Python SDK, so one
 * machine gives the same hashes to both.
 */

import { open, readdir, readlink, stat } from "node:fs/promises";
import { basename, join } from "node:path";

const MACHINE_ID_FILES = ["etc/machine-id", "var/lib/dbus/machine-id"];
// Interfaces that are software, not a network card: their address changes between boots.
const VIRTUAL_NIC_PREFIXES = [
  "lo", "docker", "veth", "br-", "br", "virbr", "vmnet", "vboxnet", "tun", "tap", "wg", "ifb", "dummy",
  "bond", "team", "cni", "flannel", "cali", "zt", "tailscale",
];
const DMI_FILES = ["sys_vendor", "product_name", "board_vendor", "bios_vendor", "chassis_vendor"];
const HYPERVISOR_VENDORS = [
  "qemu", "kvm", "vmware", "virtualbox", "innotek", "xen", "bochs", "parallels",
  "virtual machine", "hyper-v", "amazon ec2", "google compute engine", "openstack", "bhyve",
];
const CONTAINER_CGROUPS = ["docker", "kubepods", "containerd", "lxc", "libpod", "podman"];

/** At most `limit` bytes of a file (sysfs files report a size of 4096 whatever they hold), trimmed; null if unreadable. */
export async function readText(path: string, limit = 65536): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.alloc(limit);
    let length = 0;
    while (length < limit) {
      const { bytesRead } = await handle.read(buffer, length, limit - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length).toString("utf8").trim();
  } catch {
    return null;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function list(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function machineId(root: string): Promise<string | null> {
  for (const name of MACHINE_ID_FILES) {
    const value = await readText(join(root, name));
    if (value && !/^0+$/.test(value)) return value;
  }
  return null;
}

/** The first processor's block of /proc/cpuinfo. */
export async function cpuInfo(root: string): Promise<Map<string, string>> {
  const info = new Map<string, string>();
  for (const line of ((await readText(join(root, "proc/cpuinfo"), 32768)) ?? "").split(/\r?\n/)) {
    if (!line.trim()) {
      if (info.size) break;
      continue;
    }
    const at = line.indexOf(":");
    if (at < 0) continue;
    const key = line.slice(0, at).trim().toLowerCase();
    if (!info.has(key)) info.set(key, line.slice(at + 1).trim());
  }
  return info;
}

export async function cpuIdentity(root: string): Promise<string | null> {
  const info = await cpuInfo(root);
  // x86 names vendor/family/model/stepping; ARM names implementer/part/revision.
  let values = ["vendor_id", "cpu family", "model", "model name", "stepping"].map((f) => info.get(f) ?? "");
  if (!values.some(Boolean)) {
    values = ["cpu implementer", "cpu architecture", "cpu variant", "cpu part", "cpu revision"].map((f) => info.get(f) ?? "");
  }
  return values.some(Boolean) ? values.join("|") : null;
}

/** Bit 1 of the first octet is set by software (containers, VPNs, randomised Wi-Fi); bit 0 is multicast. */
export function isLocallyAdministered(mac: string): boolean {
  const first = parseInt(mac.split(":")[0] ?? "", 16);
  return Number.isNaN(first) || (first & 0x03) !== 0;
}

export async function permanentMac(root: string): Promise<string | null> {
  const net = join(root, "sys/class/net");
  for (const name of await list(net)) {
    if (VIRTUAL_NIC_PREFIXES.some((p) => name.startsWith(p))) continue;
    const iface = join(net, name);
    if (!(await exists(join(iface, "device")))) continue; // no bus device behind it: virtual
    if (((await readText(join(iface, "addr_assign_type"))) ?? "0") !== "0") continue; // random or set by user space
    const mac = ((await readText(join(iface, "address"))) ?? "").toLowerCase();
    if (mac.length !== 17 || mac === "00:00:00:00:00:00" || isLocallyAdministered(mac)) continue;
    return mac;
  }
  return null;
}

function unescapeMount(text: string): string {
  return text.replace(/\\040/g, " ").replace(/\\011/g, "\t").replace(/\\012/g, "\n").replace(/\\134/g, "\\");
}

/** The device (`/dev/sda1`) of the mount holding `path`: the longest matching mount point. */
export async function mountSource(root: string, path: string): Promise<string | null> {
  let best: string | null = null;
  let bestLen = -1;
  for (const line of ((await readText(join(root, "proc/self/mountinfo"), 1 << 20)) ?? "").split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(/\s+/);
    const rest = line.slice(sep + 3).split(/\s+/);
    if (fields.length < 5 || rest.length < 2) continue;
    const point = unescapeMount(fields[4] as string);
    const inside = path === point || path.startsWith(point.replace(/\/+$/, "") + "/") || point === "/";
    if (inside && point.length > bestLen) {
      best = rest[1] as string;
      bestLen = point.length;
    }
  }
  return best;
}

async function diskOfPartition(root: string, name: string): Promise<string | null> {
  const block = join(root, "sys/block");
  if (await isDir(join(block, name))) return name;
  for (const disk of await list(block)) if (await isDir(join(block, disk, name))) return disk;
  return null;
}

/** Serial of the physical disk holding `dataDir` (sysfs first, then /dev/disk/by-id). */
export async function diskSerial(root: string, dataDir: string): Promise<string | null> {
  const source = await mountSource(root, dataDir);
  if (!source || !source.startsWith("/dev/")) return null; // overlay, tmpfs, network share
  const disk = await diskOfPartition(root, basename(source));
  if (disk === null) return null;
  const device = join(root, "sys/block", disk);
  for (const candidate of ["device/serial", "serial", "device/wwid"]) {
    const value = await readText(join(device, candidate));
    if (value) return value;
  }
  const byId = join(root, "dev/disk/by-id");
  for (const link of await list(byId)) {
    if (/^(wwn-|dm-|lvm-|md-)/.test(link) || link.includes("-part")) continue;
    try {
      if (basename(await readlink(join(byId, link))) === disk) return link;
    } catch {
      continue;
    }
  }
  return null;
}

/** VM and container signals, e.g. `["dmi:qemu", "cpu:hypervisor", "docker"]`; empty on bare metal. */
export async function virtualSignals(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of DMI_FILES) {
    const value = ((await readText(join(root, "sys/class/dmi/id", name))) ?? "").toLowerCase();
    const hit = HYPERVISOR_VENDORS.find((v) => value.includes(v));
    if (hit && !found.includes(`dmi:${hit}`)) found.push(`dmi:${hit}`);
  }
  if (((await cpuInfo(root)).get("flags") ?? "").split(/\s+/).includes("hypervisor")) found.push("cpu:hypervisor");
  if (await exists(join(root, ".dockerenv"))) found.push("docker");
  if (await exists(join(root, "run/.containerenv"))) found.push("podman");
  const cgroup = ((await readText(join(root, "proc/1/cgroup"))) ?? "").toLowerCase();
  const hit = CONTAINER_CGROUPS.find((n) => cgroup.includes(n));
  if (hit) found.push(`cgroup:${hit}`);
  return found;
}
