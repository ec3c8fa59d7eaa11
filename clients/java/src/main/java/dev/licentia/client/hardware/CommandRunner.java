package dev.licentia.client.hardware;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How the Windows and macOS readers ask the system: documented commands run by absolute path (never
 * through a shell or PATH, which another program could shadow), with a short timeout. Tests pass a
 * runner that answers from recorded outputs.
 */
@FunctionalInterface
public interface CommandRunner {
    /** Run {@code file} with {@code args}; its standard output, or null when it cannot run or fails. */
    String run(String file, List<String> args);

    /** The real system's runner: two seconds at most, standard error discarded. */
    CommandRunner SYSTEM = (file, args) -> {
        List<String> command = new ArrayList<>();
        command.add(file);
        command.addAll(args);
        Process process = null;
        try {
            process = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.PIPE)
                    .start();
            process.getOutputStream().close();
            byte[] out;
            try (InputStream in = process.getInputStream()) {
                out = in.readNBytes(1 << 20);
            }
            if (!process.waitFor(2, TimeUnit.SECONDS) || process.exitValue() != 0) return null;
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            if (process != null) process.destroyForcibly();
        }
    };
}
