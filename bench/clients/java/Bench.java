// The Java client measured against the work an offline check cannot avoid (bench/clients_offline.py).
// java Bench bare BENCH_DIR N | check DATA_DIR PRODUCT PUBLIC_KEY N | start DATA_DIR PRODUCT PUBLIC_KEY
import dev.licentia.client.Licentia;
import dev.licentia.client.Status;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.HexFormat;
import java.util.List;

public final class Bench {
    interface Call {
        void run() throws Exception;
    }

    private static double cpuSeconds() {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return os.getProcessCpuTime() / 1e9; // the whole process: the JIT and the collector included
    }

    /** The seconds per call (wall, CPU) of n calls, after n / 2 to warm up. */
    private static String timed(int n, Call call) throws Exception {
        for (int i = 0; i < n / 2; i++) call.run();
        double cpu = cpuSeconds();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) call.run();
        return ((System.nanoTime() - start) / 1e9 / n) + " " + ((cpuSeconds() - cpu) / n);
    }

    private static void bare(Path dir, int n) throws Exception {
        byte[] body = Files.readAllBytes(dir.resolve("body.bin"));
        byte[] sig = Files.readAllBytes(dir.resolve("sig.bin"));
        byte[] der = HexFormat.of().parseHex("302a300506032b6570032100" + HexFormat.of().formatHex(Files.readAllBytes(dir.resolve("pub.bin"))));
        PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
        List<String> paths = Files.readAllLines(dir.resolve("files.txt")).stream().filter(p -> !p.isEmpty()).toList();
        Call verify = () -> {
            Signature verifier = Signature.getInstance("Ed25519");
            verifier.initVerify(key);
            verifier.update(body);
            if (!verifier.verify(sig)) throw new GeneralSecurityException("signature does not verify");
        };
        System.out.println("verify " + timed(n, verify));
        System.out.println("unavoidable " + timed(n, () -> {
            for (String path : paths) {
                try {
                    if (path.endsWith("/")) {
                        try (DirectoryStream<Path> names = Files.newDirectoryStream(Path.of(path))) {
                            names.forEach(name -> { });
                        }
                    } else {
                        Files.readAllBytes(Path.of(path));
                    }
                } catch (IOException unreadable) {
                    // as a client does: a component it cannot read is left out
                }
            }
            verify.run();
        }));
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("bare")) {
            bare(Path.of(args[1]), Integer.parseInt(args[2]));
            return;
        }
        Licentia client = Licentia.builder().serverUrl("http://127.0.0.1:9").product(args[2]).publicKey(args[3])
                .dataDir(Path.of(args[1])).build();
        if (args[0].equals("check")) {
            System.out.println("check " + timed(Integer.parseInt(args[4]), () -> client.check(false)));
            return;
        }
        Status status = client.check(false);
        System.out.println(status.allowed() + " " + status.state());
    }
}
