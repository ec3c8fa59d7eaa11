package dev.licentia.client.hardware;

import java.net.NetworkInterface;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** Network interfaces by name with their hardware address (injectable for tests). */
@FunctionalInterface
public interface Interfaces {
    /** One interface: its name, its address as {@code aa:bb:cc:dd:ee:ff} (or null), and whether it is a loopback. */
    record Card(String name, String mac, boolean loopback) {}

    List<Card> list();

    /** The first network card's own address (by interface name): not a loopback, not set by software. */
    default String firstMac() {
        List<Card> cards = new ArrayList<>(list());
        cards.sort(Comparator.comparing(Card::name));
        for (Card card : cards) {
            String mac = card.mac() == null ? "" : card.mac().toLowerCase(Locale.ROOT);
            if (card.loopback() || mac.length() != 17 || mac.equals("00:00:00:00:00:00")
                    || LinuxHardware.isLocallyAdministered(mac)) {
                continue;
            }
            return mac;
        }
        return null;
    }

    /**
     * A MAC address from a 48-bit node (Python's {@code uuid.getnode()}), lower-case
     * {@code aa:bb:cc:dd:ee:ff}; null when there is none or the first octet has the multicast (made up)
     * or the locally administered (set by software) bit.
     */
    static String macOfNode(Long node) {
        if (node == null || node < 0 || node > 0xFFFFFFFFFFFFL) return null;
        long first = (node >> 40) & 0xFF;
        if ((first & 0x03) != 0) return null;
        StringBuilder b = new StringBuilder();
        for (int shift = 40; shift >= 0; shift -= 8) {
            if (b.length() > 0) b.append(':');
            b.append(String.format("%02x", (node >> shift) & 0xFF));
        }
        return b.toString();
    }

    /** This machine's interfaces, from {@link NetworkInterface}. */
    Interfaces SYSTEM = () -> {
        List<Card> cards = new ArrayList<>();
        try {
            for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                byte[] raw = ni.getHardwareAddress();
                String mac = null;
                if (raw != null && raw.length == 6) {
                    StringBuilder b = new StringBuilder();
                    for (byte x : raw) b.append(b.length() == 0 ? "" : ":").append(String.format("%02x", x));
                    mac = b.toString();
                }
                cards.add(new Card(ni.getName(), mac, ni.isLoopback()));
            }
        } catch (java.io.IOException | RuntimeException e) {
            return List.of();
        }
        return cards;
    };
}
