package dev.licentia.client.hardware;

import java.util.List;

/**
 * Raw hardware identifiers of this machine, as the Python SDK reads them. Each is null when it
 * cannot be read. They never leave the SDK unhashed.
 *
 * @param machine the OS's machine id (Linux {@code /etc/machine-id}, Windows MachineGuid, macOS IOPlatformUUID)
 * @param disk the serial of the disk holding the data directory
 * @param cpu the CPU's identity (vendor, family, model...)
 * @param mac the first network card's own address
 * @param virtualSignals VM and container signals ({@code dmi:qemu}, {@code docker}); empty on bare metal
 */
public record RawHardware(String machine, String disk, String cpu, String mac, List<String> virtualSignals) {
    public RawHardware {
        virtualSignals = List.copyOf(virtualSignals);
    }
}
