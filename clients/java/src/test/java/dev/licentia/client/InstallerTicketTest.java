package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.licentia.client.hardware.Hardware;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The installer ticket beside the program, sent at first contact to a real {@code licentia serve}. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InstallerTicketTest {
    private static final String PRODUCT = "my-app";
    private LiveServer server;
    private Path scratch;
    private final AtomicInteger n = new AtomicInteger();

    @BeforeAll
    void start() throws Exception {
        String python = LiveServer.pythonOrSkip();
        server = new LiveServer(python).start();
        scratch = Files.createTempDirectory("licentia-java-tickets");
    }

    @AfterAll
    void stop() {
        if (server != null) server.close();
        if (scratch != null) LiveServer.delete(scratch);
    }

    /** A download's ticket, minted by the vendor's CLI into a folder of its own. */
    private Path mint() throws Exception {
        Path folder = Files.createDirectories(scratch.resolve("download-" + n.incrementAndGet()));
        Path ticket = folder.resolve(InstallerTickets.FILE_NAME);
        server.cli("ticket", "mint", "--product", PRODUCT, "--out", ticket.toString());
        return ticket;
    }

    /** An installation on a computer of its own (its own hardware, data folder and escrow) started from {@code ticket}. */
    private Licentia install(Path ticket) throws Exception {
        int i = n.incrementAndGet();
        return install(ticket, i, new FakeMachine(scratch.resolve("machine-" + i)));
    }

    /** Installation {@code i} (its data folder and escrow) on {@code machine}. */
    private Licentia install(Path ticket, int i, FakeMachine machine) throws Exception {
        return Licentia.builder().serverUrl(server.url).product(PRODUCT).publicKey(server.publicKey(PRODUCT))
                .dataDir(scratch.resolve("data-" + i)).hardware(Hardware.linuxRoot(machine.root)).appVersion("2.1.0")
                .environment(LiveServer.env(scratch.resolve("config-" + i))).installerTicket(ticket).build();
    }

    /** The server's count of installations started from the ticket, and of copies among them. */
    private JsonNode starts(Path ticket) throws Exception {
        String id = Json.parse(Files.readAllBytes(ticket)).get("document").get("ticket").textValue();
        for (JsonNode t : Json.parse(server.cli("ticket", "list", "--product", PRODUCT, "--json"))) {
            if (t.get("id").textValue().equals(id)) {
                ObjectNode out = Json.object();
                out.set("installations", t.get("installations"));
                out.set("copies", t.get("copies"));
                return out;
            }
        }
        throw new AssertionError("ticket " + id + " not listed");
    }

    private static String counts(long installations, long copies) {
        return "{\"installations\":" + installations + ",\"copies\":" + copies + "}";
    }

    @Test
    void aLeakedInstallerStartedOnAnotherComputerIsRecordedAsACopyOfItsDownload() throws Exception {
        Path ticket = mint();
        Status buyer = install(ticket).check();
        assertTrue(buyer.allowed());
        assertTrue(buyer.online());
        assertFalse(buyer.cloneSuspected());
        assertEquals(counts(1, 0), starts(ticket).toString(), "the device started from the ticket");

        Status pirate = install(ticket).check(); // the same file on other hardware
        assertEquals("trial", pirate.state()); // the product's on_clone is flag: a flagged trial
        assertTrue(pirate.cloneSuspected());
        assertNotEquals(buyer.device(), pirate.device());
        assertEquals(counts(2, 1), starts(ticket).toString(), "the second computer is a copy of the download");
        JsonNode shown = Json.parse(server.cli("device", "show", pirate.device()));
        assertTrue(shown.get("clone_suspected").booleanValue(), "the server flagged the copy: " + shown);
    }

    @Test
    void aReinstallReusingItsTicketIsTheSameInstallationNotACopy() throws Exception {
        Path ticket = mint();
        int i = n.incrementAndGet();
        FakeMachine machine = new FakeMachine(scratch.resolve("machine-" + i));
        Status first = install(ticket, i, machine).check();
        LiveServer.delete(scratch.resolve("data-" + i)); // the uninstaller; the escrow keeps the credential
        Status again = install(ticket, i, machine).check();
        assertEquals(first.device(), again.device());
        assertFalse(again.cloneSuspected());
        LiveServer.delete(scratch.resolve("data-" + i));
        LiveServer.delete(scratch.resolve("config-" + i)); // a formatted disk: no escrow either
        Status formatted = install(ticket, i, machine).check();
        assertNotEquals(first.device(), formatted.device());
        assertFalse(formatted.cloneSuspected());
        assertEquals(counts(2, 0), starts(ticket).toString(), "two installations, one computer");
    }

    @Test
    void theTicketIsSentOnlyAtFirstContact() throws Exception {
        Path ticket = mint();
        Licentia lic = install(ticket);
        String device = lic.check().device();
        Files.delete(ticket); // later checks carry the credential, never the ticket
        Status again = lic.check();
        assertEquals(device, again.device());
        assertTrue(again.allowed());
        assertFalse(again.cloneSuspected());
    }

    @Test
    void anEditedTicketIsRefusedAndNothingIsStored() throws Exception {
        Path ticket = mint();
        ObjectNode signed = (ObjectNode) Json.parse(Files.readAllBytes(ticket));
        ((ObjectNode) signed.get("document")).put("customer", 1); // the pirate names another buyer
        Path edited = Files.createDirectories(scratch.resolve("edited")).resolve(InstallerTickets.FILE_NAME);
        Files.write(edited, Json.write(signed));
        Licentia lic = install(edited);
        Status status = lic.check();
        assertFalse(status.allowed());
        assertEquals("no_document", status.reason());
        assertNull(status.device());
        ServerRefusedException refused = assertThrows(ServerRefusedException.class, lic::credential);
        assertEquals("invalid_installer_ticket", refused.code());
        assertEquals(422, refused.status());
        assertNull(lic.stateFile.load().credential, "nothing stored");
        assertEquals(counts(0, 0), starts(ticket).toString());
    }

    @Test
    void aDamagedOrMissingTicketIsNotSentAndTheFirstContactGoesOn() throws Exception {
        Path ticket = mint();
        byte[] raw = Files.readAllBytes(ticket);
        Path damaged = scratch.resolve("damaged.json");
        Files.write(damaged, Arrays.copyOf(raw, raw.length - 20));
        Status started = install(damaged).check();
        assertTrue(started.allowed());
        assertEquals("trial", started.state());
        assertTrue(install(scratch.resolve("nowhere.json")).check().allowed());
        assertEquals(counts(0, 0), starts(ticket).toString());
    }

    @Test
    void theRuleReadsTheFileAsTheOtherClientsDo() throws Exception {
        Path ticket = mint();
        String text = Files.readString(ticket, StandardCharsets.UTF_8);
        assertEquals(text.strip(), InstallerTickets.read(ticket));
        assertNull(InstallerTickets.read(null));
        assertNull(InstallerTickets.read(scratch.resolve("nowhere.json")));
        Path big = scratch.resolve("big.json");
        Files.writeString(big, text + " ".repeat(InstallerTickets.MAX_BYTES));
        assertNull(InstallerTickets.read(big));
        assertEquals("larger than 4096 bytes", InstallerTickets.problem(Files.readAllBytes(big)));
        byte[] bom = ("\uFEFF" + text).getBytes(StandardCharsets.UTF_8); // Python's json refuses a byte-order mark too
        assertEquals("not UTF-8 JSON", InstallerTickets.problem(bom));
    }
}
