package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * JSON over HTTP with the JDK's {@link HttpClient}. Every call has one hard deadline for the whole
 * exchange (a server dribbling a byte at a time cannot hold the application's start), answers are
 * read up to a size limit and parsed with the exact parser, and failures become
 * {@link OfflineException} (garbage: {@link InvalidAnswerException}) or {@link ServerRefusedException}.
 * A reset connection or a 502/503/504 is tried again, at most twice, within the same deadline
 * (every call the SDK makes may be repeated safely); a refused connection is not.
 *
 * <p>Thread-safe: {@link HttpClient} is, and this class keeps no per-call state.
 */
final class Transport {
    /** Every answer the protocol has is a few kilobytes; a bigger one is refused before it is parsed. */
    static final int MAX_ANSWER_BYTES = 1 << 20;
    private static final long[] RETRY_PAUSES_MS = {50, 250};

    private static final ExecutorService EXCHANGES = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "licentia-request");
        thread.setDaemon(true); // an abandoned exchange must never keep the application alive
        return thread;
    });

    final String serverUrl;
    final Duration timeout;
    // Built at the first call, not with the client: building one costs ~0.35 s of CPU in a new JVM,
    // which an application that checks offline only never needs to pay.
    private volatile HttpClient http;

    Transport(String serverUrl, Duration timeout) {
        if (serverUrl == null) throw new ConfigurationException("a server URL is required");
        String trimmed = serverUrl.replaceAll("/+$", "");
        URI uri;
        try {
            uri = new URI(trimmed);
        } catch (java.net.URISyntaxException e) {
            throw new ConfigurationException("not a server URL (http:// or https://): " + serverUrl);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
            throw new ConfigurationException("not a server URL (http:// or https://): " + serverUrl);
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new ConfigurationException("the timeout must be positive, not " + timeout);
        }
        this.serverUrl = trimmed;
        this.timeout = timeout;
    }

    private HttpClient http() {
        HttpClient built = http;
        if (built == null) {
            synchronized (this) {
                built = http;
                if (built == null) {
                    built = HttpClient.newBuilder()
                            .version(HttpClient.Version.HTTP_1_1)
                            .followRedirects(HttpClient.Redirect.NEVER)
                            .connectTimeout(timeout)
                            .executor(EXCHANGES)
                            .build();
                    http = built;
                }
            }
        }
        return built;
    }

    /** A request: its method, path, query, body and credential. */
    record Call(String method, String path, Map<String, String> query, JsonNode body, Answers.Credential credential) {
        static Call post(String path, JsonNode body, Answers.Credential credential) {
            return new Call("POST", path, Map.of(), body, credential);
        }
    }

    private static final class Unavailable extends OfflineException {
        private static final long serialVersionUID = 1L;

        Unavailable(String message) {
            super(message);
        }
    }

    /** An answer as received: its status, body (at most the limit + 1 bytes) and Retry-After. */
    record Raw(int status, byte[] body, Optional<String> retryAfter) {}

    JsonNode request(Call call) {
        return request(call, timeout);
    }

    /** The JSON answer to {@code call} within {@code wait} (all retries included). */
    JsonNode request(Call call, Duration wait) {
        return answer(exchange(call, wait));
    }

    /**
     * The raw answer to {@code call} within {@code wait}: a reset connection or a 502/503/504 is tried
     * again; an answer larger than the limit is {@link InvalidAnswerException}; statuses are not judged.
     */
    Raw exchange(Call call, Duration wait) {
        StringBuilder url = new StringBuilder(serverUrl).append(call.path());
        if (!call.query().isEmpty()) {
            String sep = "?";
            for (Map.Entry<String, String> e : call.query().entrySet()) {
                url.append(sep).append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)).append('=')
                        .append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
                sep = "&";
            }
        }
        long budget = Math.max(50, wait.toMillis());
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(budget);
        HttpRequest.Builder builder;
        try {
            builder = HttpRequest.newBuilder(URI.create(url.toString()));
        } catch (IllegalArgumentException e) {
            throw new ConfigurationException("not a valid request URL: " + e.getMessage());
        }
        builder.header("Accept", "application/json").header("User-Agent", Licentia.USER_AGENT)
                .header("Licentia-Protocol", String.valueOf(Licentia.PROTOCOL_VERSION));
        if (call.body() != null) {
            builder.header("Content-Type", "application/json");
            builder.method(call.method(), HttpRequest.BodyPublishers.ofByteArray(Json.write(call.body())));
        } else {
            builder.method(call.method(), HttpRequest.BodyPublishers.noBody());
        }
        if (call.credential() != null) {
            Answers.Credential c = call.credential();
            // Never a header from a malformed secret: CR/LF would split it into others.
            if (!Answers.isToken(c.device()) || !Answers.isToken(c.secret()) || c.device().contains(":")) {
                throw new ConfigurationException("the device credential is malformed");
            }
            builder.header("Authorization", "Device " + c.device() + ":" + c.secret());
        }
        for (int attempt = 0; ; attempt++) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            try {
                Raw raw = attempt(builder.timeout(Duration.ofMillis(Math.max(50, left))).build(), Math.max(50, left));
                if (raw.body().length > MAX_ANSWER_BYTES) {
                    throw new InvalidAnswerException(serverUrl + " answered more than " + MAX_ANSWER_BYTES + " bytes");
                }
                int status = raw.status();
                if ((status == 502 || status == 503 || status == 504) && attempt < RETRY_PAUSES_MS.length) {
                    throw new Unavailable("server error " + status);
                }
                return raw;
            } catch (Unavailable e) {
                if (attempt >= RETRY_PAUSES_MS.length) throw e;
                long pause = (long) (RETRY_PAUSES_MS[attempt] * (0.5 + ThreadLocalRandom.current().nextDouble() / 2));
                if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(pause + 50) >= deadline) throw e;
                sleep(pause);
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OfflineException("interrupted");
        }
    }

    /** One exchange in a daemon thread, abandoned at the deadline. */
    private Raw attempt(HttpRequest request, long waitMs) {
        AtomicReference<InputStream> stream = new AtomicReference<>();
        CompletableFuture<Raw> exchange = CompletableFuture.supplyAsync(() -> {
            try {
                HttpResponse<InputStream> response = http().send(request, HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = response.body()) {
                    stream.set(in);
                    byte[] body = in.readNBytes(MAX_ANSWER_BYTES + 1);
                    return new Raw(response.statusCode(), body, response.headers().firstValue("Retry-After"));
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted");
            }
        }, EXCHANGES);
        try {
            return exchange.get(waitMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            exchange.cancel(true);
            closeQuietly(stream.get());
            throw new OfflineException("no answer from " + serverUrl + " within " + waitMs + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exchange.cancel(true);
            throw new OfflineException("interrupted while waiting for " + serverUrl);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
            String why = cause == null ? "unknown" : cause.getClass().getSimpleName() + ": " + cause.getMessage();
            // Reset or closed before the answer: the host went away under the request. Not a refused
            // connection (nothing listens: a retry would only delay the offline start), nor a timeout.
            boolean transient_ = cause instanceof IOException && !(cause instanceof ConnectException)
                    && !(cause instanceof java.net.http.HttpTimeoutException);
            if (transient_) throw new Unavailable("cannot reach " + serverUrl + ": " + why);
            throw new OfflineException("cannot reach " + serverUrl + ": " + why);
        } catch (CancellationException e) {
            throw new OfflineException("the request to " + serverUrl + " was cancelled");
        }
    }

    private static void closeQuietly(InputStream in) {
        if (in == null) return;
        try {
            in.close();
        } catch (IOException | RuntimeException ignored) {
            // the exchange is abandoned either way
        }
    }

    private JsonNode answer(Raw raw) {
        if (raw.body().length > MAX_ANSWER_BYTES) {
            throw new InvalidAnswerException(serverUrl + " answered more than " + MAX_ANSWER_BYTES + " bytes");
        }
        int status = raw.status();
        if (status == 502 || status == 503 || status == 504) throw new Unavailable("server error " + status);
        if (status >= 500) throw new OfflineException("server error " + status);
        if (status >= 400) throw refusal(status, raw.body(), raw.retryAfter().orElse(null));
        if (status < 200 || status >= 300) throw new InvalidAnswerException(serverUrl + " answered HTTP " + status);
        try {
            return Json.parse(raw.body());
        } catch (Json.JsonException e) {
            throw new InvalidAnswerException(serverUrl + " answered something that is not JSON");
        }
    }

    static ServerRefusedException refusal(int status, byte[] body, String retryAfter) {
        String code = ErrorCodes.HTTP_ERROR;
        String message = "HTTP " + status;
        Map<String, Object> details = new LinkedHashMap<>();
        try {
            JsonNode error = Json.obj(Json.parse(body), "error");
            String c = Json.text(error, "code");
            String m = Json.text(error, "message");
            if (c != null && m != null) {
                code = c.substring(0, Math.min(100, c.length()));
                message = m.substring(0, Math.min(1000, m.length()));
            }
            if (error != null) {
                // Plain fields only (a refusal's figures): nothing nested reaches the application.
                for (Iterator<Map.Entry<String, JsonNode>> it = error.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (e.getKey().equals("code") || e.getKey().equals("message") || details.size() >= 50) continue;
                    JsonNode v = e.getValue();
                    if (v.isNull()) details.put(e.getKey(), null);
                    else if (v.isTextual()) details.put(e.getKey(), v.textValue());
                    else if (v.isBoolean()) details.put(e.getKey(), v.booleanValue());
                    else if (v.isIntegralNumber() && v.bigIntegerValue().bitLength() < 64) details.put(e.getKey(), v.longValue());
                }
            }
        } catch (Json.JsonException e) {
            // not JSON: keep the HTTP status
        }
        Long wait = retryAfter != null && retryAfter.matches("\\d{1,9}") ? Long.valueOf(retryAfter) : null;
        return new ServerRefusedException(code, message, status, wait, details);
    }
}
