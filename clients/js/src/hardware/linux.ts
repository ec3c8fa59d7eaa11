/**
 * Linux readers: plain file reads under `root` (`/` in production, a fake tree
 * in tests); no subprocess. Each returns the raw value or null and never
 * throws: a container without DMI or a disk without a serial simply gives
 * fewer components. Same sources and value forms as the Python SDK, so one
 * machine gives the same hashes to both.
 */

import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
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

export function readText(path: string, limit = 65536): string | null {
  try {
    return readFileSync(path).subarray(0, limit).toString("utf8").trim();
  } catch {
    return null;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function machineId(root: string): string | null {
  for (const name of MACHINE_ID_FILES) {
    const value = readText(join(root, name));
    if (value && !/^0+$/.test(value)) return value;
  }
  return null;
}

/** The first processor's block of /proc/cpuinfo. */
export function cpuInfo(root: string): Map<string, string> {
  const info = new Map<string, string>();
  for (const line of (readText(join(root, "proc/cpuinfo"), 32768) ?? "").split(/\r?\n/)) {
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

export function cpuIdentity(root: string): string | null {
  const info = cpuInfo(root);
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

export function permanentMac(root: string): string | null {
  const net = join(root, "sys/class/net");
  for (const name of list(net)) {
    if (VIRTUAL_NIC_PREFIXES.some((p) => name.startsWith(p))) continue;
    const iface = join(net, name);
    if (!existsSync(join(iface, "device"))) continue; // no bus device behind it: virtual
    if ((readText(join(iface, "addr_assign_type")) ?? "0") !== "0") continue; // random or set by user space
    const mac = (readText(join(iface, "address")) ?? "").toLowerCase();
    if (mac.length !== 17 || mac === "00:00:00:00:00:00" || isLocallyAdministered(mac)) continue;
    return mac;
  }
  return null;
}

function unescapeMount(text: string): string {
  return text.replace(/\\040/g, " ").replace(/\\011/g, "\t").replace(/\\012/g, "\n").replace(/\\134/g, "\\");
}

/** The device (`/dev/sda1`) of the mount holding `path`: the longest matching mount point. */
export function mountSource(root: string, path: string): string | null {
  let best: string | null = null;
  let bestLen = -1;
  for (const line of (readText(join(root, "proc/self/mountinfo"), 1 << 20) ?? "").split("\n")) {
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

function diskOfPartition(root: string, name: string): string | null {
  const block = join(root, "sys/block");
  if (isDir(join(block, name))) return name;
  return list(block).find((disk) => isDir(join(block, disk, name))) ?? null;
}

/** Serial of the physical disk holding `dataDir` (sysfs first, then /dev/disk/by-id). */
export function diskSerial(root: string, dataDir: string): string | null {
  const source = mountSource(root, dataDir);
  if (!source || !source.startsWith("/dev/")) return null; // overlay, tmpfs, network share
  const disk = diskOfPartition(root, basename(source));
  if (disk === null) return null;
  const device = join(root, "sys/block", disk);
  for (const candidate of ["device/serial", "serial", "device/wwid"]) {
    const value = readText(join(device, candidate));
    if (value) return value;
  }
  const byId = join(root, "dev/disk/by-id");
  for (const link of list(byId)) {
    if (/^(wwn-|dm-|lvm-|md-)/.test(link) || link.includes("-part")) continue;
    try {
      if (basename(readlinkSync(join(byId, link))) === disk) return link;
    } catch {
      continue;
    }
  }
  return null;
}

/** VM and container signals, e.g. `["dmi:qemu", "cpu:hypervisor", "docker"]`; empty on bare metal. */
export function virtualSignals(root: string): string[] {
  const found: string[] = [];
  for (const name of DMI_FILES) {
    const value = (readText(join(root, "sys/class/dmi/id", name)) ?? "").toLowerCase();
    const hit = HYPERVISOR_VENDORS.find((v) => value.includes(v));
    if (hit && !found.includes(`dmi:${hit}`)) found.push(`dmi:${hit}`);
  }
  if ((cpuInfo(root).get("flags") ?? "").split(/\s+/).includes("hypervisor")) found.push("cpu:hypervisor");
  if (existsSync(join(root, ".dockerenv"))) found.push("docker");
  if (existsSync(join(root, "run/.containerenv"))) found.push("podman");
  const cgroup = (readText(join(root, "proc/1/cgroup")) ?? "").toLowerCase();
  const hit = CONTAINER_CGROUPS.find((n) => cgroup.includes(n));
  if (hit) found.push(`cgroup:${hit}`);
  return found;
}
