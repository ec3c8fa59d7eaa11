package dev.licentia.client.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The macOS and Windows readers on recorded outputs of the commands they run; the OS picked by name. */
class HardwareTest {
    static String fixture(String name) {
        try {
            return Files.readString(Path.of("src/test/resources/hardware", name), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Answers each command from a recorded output; anything else cannot run. */
    static CommandRunner recorded(Map<String, String> outputs) {
        return (file, args) -> outputs.get(file + " " + String.join(" ", args));
    }

    static final Interfaces CARDS = () -> List.of(
            new Interfaces.Card("lo0", "00:00:00:00:00:00", true),
            new Interfaces.Card("utun0", null, false),
            new Interfaces.Card("en1", "3C:52:82:10:AA:CC", false),
            new Interfaces.Card("awdl0", "06:1b:2c:3d:4e:5f", false), // locally administered: skipped
            new Interfaces.Card("en0", "3c:52:82:10:aa:bb", false));

    @Test
    void anOfflineCheckReadsTheSameComponentsWithoutTheVirtualSignals(@org.junit.jupiter.api.io.TempDir Path root)
            throws IOException {
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/machine-id"), "0123456789abcdef0123456789abcdef\n");
        Files.createDirectories(root.resolve("proc"));
        Files.writeString(root.resolve("proc/cpuinfo"),
                "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nflags\t\t: fpu hypervisor\n\n");
        Files.createDirectories(root.resolve("sys/class/dmi/id"));
        Files.writeString(root.resolve("sys/class/dmi/id/sys_vendor"), "QEMU\n");
        Hardware reader = Hardware.linuxRoot(root);
        RawHardware full = reader.read("/srv/app");
        RawHardware components = reader.readComponents("/srv/app");
        assertEquals(List.of("dmi:qemu", "cpu:hypervisor"), full.virtualSignals());
        assertEquals(List.of(), components.virtualSignals(), "the server judges them, online");
        assertEquals(new RawHardware(full.machine(), full.disk(), full.cpu(), full.mac(), List.of()), components);
        assertEquals("0123456789abcdef0123456789abcdef", components.machine());
        assertEquals(Hardware.cached(reader::read).readComponents("/srv/app").machine(), components.machine());
    }

    @Test
    void aDisksSerialIsRememberedForItsSysfsNodeAndReadAgainForAnotherOne(@org.junit.jupiter.api.io.TempDir Path root)
            throws IOException {
        Files.createDirectories(root.resolve("proc/self"));
        Files.writeString(root.resolve("proc/self/mountinfo"), "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");
        Files.createDirectories(root.resolve("sys/block/sda/sda1"));
        Path serial = root.resolve("sys/block/sda/serial");
        Files.writeString(serial, "SN-FIRST\n");
        Hardware reader = Hardware.linuxRoot(root);
        assertEquals("SN-FIRST", reader.readComponents("/srv/app").disk());
        // The same node (device, inode, modification time): the device is not asked again.
        java.nio.file.attribute.FileTime modified = Files.getLastModifiedTime(serial);
        Files.writeString(serial, "SN-OTHER\n");
        Files.setLastModifiedTime(serial, modified);
        assertEquals("SN-FIRST", reader.readComponents("/srv/app").disk());
        // Changed, or another node in its place (a disk replaced): read afresh, at the next check.
        Files.setLastModifiedTime(serial, java.nio.file.attribute.FileTime.fromMillis(modified.toMillis() + 2000));
        assertEquals("SN-OTHER", reader.readComponents("/srv/app").disk());
        Path replacement = root.resolve("sys/block/sda/serial.new");
        Files.writeString(replacement, "SN-THIRD\n");
        Files.setLastModifiedTime(replacement, Files.getLastModifiedTime(serial));
        Files.move(replacement, serial, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        assertEquals("SN-THIRD", reader.readComponents("/srv/app").disk());
        Files.delete(serial);
        assertNull(reader.readComponents("/srv/app").disk(), "gone: no serial, whatever was remembered");
    }

    @Test
    void macosReadsThePlatformUuidAndTheCpuAsPythonDoes() {
        CommandRunner run = recorded(Map.of(
                "/usr/sbin/ioreg -rd1 -c IOPlatformExpertDevice", fixture("ioreg.txt"),
                "/usr/bin/uname -m", "arm64\n",
                "/usr/bin/uname -p", "arm\n"));
        RawHardware raw = Hardware.forOs("Mac OS X", run, CARDS, Path.of("/")).read("/Users/ada/Library/Application Support/my-app");
        assertEquals("3F1C5E2A-9B7D-5C4E-8A21-0D6B9E7F4C12", raw.machine());
        assertNull(raw.disk());
        assertEquals("arm64|arm", raw.cpu());
        assertEquals("3c:52:82:10:aa:bb", raw.mac(), "the first card by name, not set by software");
    }

    @Test
    void macosWithoutIoregGivesFewerComponentsNotAnError() {
        RawHardware raw = MacHardware.read((file, args) -> null, () -> List.of());
        assertNull(raw.machine());
        assertNull(raw.cpu());
        assertNull(raw.mac());
        assertNull(MacHardware.parsePlatformUuid("\"IOPlatformUUID\" = <not text>"));
    }

    @Test
    void windowsReadsTheRegistryAndTheVolumeSerialInPythonsForms() {
        CommandRunner run = recorded(Map.of(
                "C:\\Windows\\System32\\reg.exe query HKLM\\SOFTWARE\\Microsoft\\Cryptography /reg:64", fixture("reg-cryptography.txt"),
                "C:\\Windows\\System32\\reg.exe query HKLM\\HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0 /reg:64", fixture("reg-cpu.txt"),
                "C:\\Windows\\System32\\cmd.exe /d /c vol C:", fixture("vol-en.txt")));
        RawHardware raw = WindowsHardware.read(run, "C:\\Windows", "C:\\Users\\ada\\AppData\\Local\\my-app", CARDS);
        assertEquals("6f1b0c2e-3d4a-4b5c-9e8f-7a6b5c4d3e2f", raw.machine());
        assertEquals("1A2B3C4D", raw.disk());
        assertEquals("GenuineIntel|Intel64 Family 6 Model 142 Stepping 10|Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", raw.cpu());
        assertEquals("3c:52:82:10:aa:bb", raw.mac());
    }

    @Test
    void windowsVolumeSerialsInOtherLanguagesAndTheEdges() {
        assertEquals("9E0FA1B2", WindowsHardware.parseVolSerial(fixture("vol-de.txt")));
        assertNull(WindowsHardware.parseVolSerial(fixture("vol-zero.txt")), "a zero serial is no serial");
        assertNull(WindowsHardware.parseVolSerial("The system cannot find the path specified."));
        assertNull(WindowsHardware.driveOf("\\\\server\\share\\my-app"), "a network share is no volume of this machine");
        assertEquals("D:", WindowsHardware.driveOf("d:\\apps"));
        RawHardware none = WindowsHardware.read((file, args) -> null, null, "C:\\x", () -> List.of());
        assertNull(none.machine());
        assertNull(none.disk());
        assertNull(none.cpu());
    }

    @Test
    void theRegistryParserKeepsNamesWithSpacesAndSkipsNoise() {
        Map<String, String> values = WindowsHardware.parseRegQuery(fixture("reg-cpu.txt"));
        assertEquals("GenuineIntel", values.get("vendoridentifier"));
        assertEquals("00000000000000000000000000000000", values.get("component information"));
        assertEquals(Map.of(), WindowsHardware.parseRegQuery("ERROR: The system was unable to find the specified registry key or value."));
    }

    @Test
    void anotherSystemGivesTheArchitectureAndTheFirstCard() {
        RawHardware raw = Hardware.forOs("FreeBSD", (f, a) -> null, CARDS, Path.of("/")).read("/home/ada/.my-app");
        assertEquals(System.getProperty("os.arch"), raw.cpu());
        assertEquals("3c:52:82:10:aa:bb", raw.mac());
        assertNull(raw.machine());
    }

    @Test
    void handSplittingAnswersAsTheRegularExpressionsItReplaces() {
        java.util.Random random = new java.util.Random(31);
        String alphabet = "ab0/ \t\n\r\u000B\f\u0085\u2028\u00a0";
        java.util.regex.Pattern spaces = java.util.regex.Pattern.compile("\\s+");
        java.util.regex.Pattern zeros = java.util.regex.Pattern.compile("0+");
        java.util.regex.Pattern trailingSlashes = java.util.regex.Pattern.compile("/+$");
        for (int n = 0; n < 200_000; n++) {
            StringBuilder text = new StringBuilder();
            for (int k = random.nextInt(8); k > 0; k--) text.append(alphabet.charAt(random.nextInt(alphabet.length())));
            String s = text.toString();
            assertEquals(List.of(spaces.split(s)), List.of(LinuxHardware.splitSpaces(s)), s);
            assertEquals(zeros.matcher(s).matches(), LinuxHardware.allZeros(s), s);
            assertEquals(trailingSlashes.matcher(s).replaceAll(""), LinuxHardware.withoutTrailing(s, '/'), s);
            String[] split = spaces.split(s);
            for (int k = 1; k < 6; k++) assertEquals(k < split.length ? split[k] : null, LinuxHardware.token(s, 0, s.length(), k), s);
            int from = random.nextInt(s.length() + 1);
            int to = from + random.nextInt(s.length() - from + 1);
            String[] part = spaces.split(s.substring(from, to));
            assertEquals(part.length > 4 ? part[4] : null, LinuxHardware.token(s, from, to, 4), s + " " + from + " " + to);
        }
    }

    @Test
    void aFileIsDecodedAndStrippedAsBefore() {
        java.util.Random random = new java.util.Random(8);
        byte[] alphabet = "a0 \t\n\r\u000B\f\u001c\u0085\u2028\u00a0é😀".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int n = 0; n < 200_000; n++) {
            byte[] bytes = new byte[random.nextInt(10)];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = random.nextInt(6) == 0 ? (byte) random.nextInt(256) : alphabet[random.nextInt(alphabet.length)];
            }
            int length = random.nextInt(bytes.length + 1);
            String before = new String(java.util.Arrays.copyOf(bytes, length), java.nio.charset.StandardCharsets.UTF_8).strip();
            assertEquals(before, LinuxHardware.stripped(bytes, length), java.util.HexFormat.of().formatHex(bytes, 0, length));
        }
    }
}
