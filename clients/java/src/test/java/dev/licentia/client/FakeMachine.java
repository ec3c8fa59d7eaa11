package dev.licentia.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/** A fake filesystem root with the files the Linux readers look at: a computer of its own. */
final class FakeMachine {
    private static final SecureRandom RANDOM = new SecureRandom();
    final Path root;

    FakeMachine(Path root) {
        this.root = root;
        byte[] id = new byte[4];
        RANDOM.nextBytes(id);
        String hex = HexFormat.of().formatHex(id);
        byte[] machine = new byte[16];
        RANDOM.nextBytes(machine);
        write("etc/machine-id", HexFormat.of().formatHex(machine));
        write("proc/self/mountinfo", "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw");
        mkdirs("sys/block/sda/sda1");
        write("sys/block/sda/device/serial", "SN" + hex.toUpperCase());
        cpu("i7-8650U");
        nic("lo", "00:00:00:00:00:00", false);
        nic("docker0", "02:42:ac:11:00:02", false);
        nic("eth0", "3c:52:" + hex.replaceAll("(..)(?!$)", "$1:"), true);
    }

    void write(String rel, String text) {
        try {
            Path path = root.resolve(rel);
            Files.createDirectories(path.getParent());
            Files.writeString(path, text + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void mkdirs(String rel) {
        try {
            Files.createDirectories(root.resolve(rel));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void cpu(String model) {
        write("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\n"
                + "model name\t: Intel(R) Core(TM) " + model + "\nstepping\t: 10\nflags\t\t: fpu vme sse2\n");
    }

    void nic(String name, String mac, boolean device) {
        write("sys/class/net/" + name + "/address", mac);
        write("sys/class/net/" + name + "/addr_assign_type", "0");
        if (device) mkdirs("sys/class/net/" + name + "/device");
    }
}
