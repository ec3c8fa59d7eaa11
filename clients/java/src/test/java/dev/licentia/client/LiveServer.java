package dev.licentia.client;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code licentia serve} on a loopback port, SQLite in a temporary data dir, run with
 * {@code $LICENTIA_PYTHON}. {@link #close()} always reaps it (and its log says why it died).
 */
final class LiveServer implements AutoCloseable {
    final Path root;
    final Path dataDir;
    final String python;
    String url;
    private final Map<String, String> settings;
    private Process process;

    LiveServer(String python) throws IOException {
        this(python, Map.of());
    }

    /** {@code settings}: the server's environment beyond the defaults (e.g. {@code LICENTIA_DEVICE_POLL_SECONDS}). */
    LiveServer(String python, Map<String, String> settings) throws IOException {
        this.python = python;
        this.settings = Map.copyOf(settings);
        this.root = Files.createTempDirectory("licentia-java-server");
        this.dataDir = root.resolve("server");
    }

    /** {@code $LICENTIA_PYTHON}, or the calling test is skipped (as aborted: JUnit reports it) when it is not set. */
    static String pythonOrSkip() {
        String python = System.getenv("LICENTIA_PYTHON");
        org.junit.jupiter.api.Assumptions.assumeTrue(python != null && !python.isEmpty(),
                "LICENTIA_PYTHON is not set: the end-to-end tests against a real licentia serve are SKIPPED "
                        + "(scripts/test-clients sets it; so must any run that counts)");
        return python;
    }

    static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    LiveServer start() throws IOException, InterruptedException {
        int port = freePort();
        url = "http://127.0.0.1:" + port;
        ProcessBuilder builder = new ProcessBuilder(python, "-m", "licentia", "serve", "--data-dir", dataDir.toString(),
                "--port", String.valueOf(port), "--workers", "1");
        builder.environment().put("LICENTIA_PRODUCT_CACHE_SECONDS", "0");
        builder.environment().remove("LICENTIA_DATABASE_URL");
        builder.environment().putAll(settings);
        builder.redirectErrorStream(true).redirectOutput(root.resolve("server.log").toFile());
        process = builder.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) throw new IOException("the server exited: " + log());
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create(url + "/healthz").toURL().openConnection();
                c.setConnectTimeout(1000);
                c.setReadTimeout(1000);
                if (c.getResponseCode() == 200) return this;
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        close();
        throw new IOException("the server did not start in 60 s: " + log());
    }

    String log() {
        try {
            String text = Files.readString(root.resolve("server.log"));
            return text.substring(Math.max(0, text.length() - 3000));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    String publicKey(String product) throws IOException {
        return Files.readString(dataDir.resolve("keys").resolve(product + ".pub")).strip();
    }

    /** Run the server's CLI ({@code licentia <args> --data-dir ...}); its standard output. */
    String cli(String... args) throws IOException, InterruptedException {
        return cliWithInput(null, args);
    }

    String cliWithInput(String input, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(python, "-m", "licentia"));
        command.addAll(List.of(args));
        command.add("--data-dir");
        command.add(dataDir.toString());
        Path out = Files.createTempFile(root, "cli", ".out");
        Path err = Files.createTempFile(root, "cli", ".err");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = builder.start();
        if (input != null) p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("licentia " + String.join(" ", args) + " did not finish");
        }
        if (p.exitValue() != 0) throw new IOException("licentia " + String.join(" ", args) + " failed: " + Files.readString(err));
        return Files.readString(out).strip();
    }

    /** Run a Python script with the server's Python; its standard output. */
    String script(Path script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(python, script.toAbsolutePath().toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(root, "script", ".out");
        Path err = Files.createTempFile(root, "script", ".err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(script + " did not finish");
        }
        if (p.exitValue() != 0) throw new IOException(script + " failed: " + Files.readString(err));
        return Files.readString(out).strip();
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        process = null;
        delete(root);
    }

    static void delete(Path path) {
        try (Stream<Path> walk = Files.walk(path)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // best effort
        }
    }

    static Map<String, String> env(Path configHome) {
        return Map.of("XDG_CONFIG_HOME", configHome.toString());
    }
}
