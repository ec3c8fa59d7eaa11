package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/** A server of the test's own on a loopback port (the JDK's HttpServer): it answers what the test says. */
final class FakeServer implements AutoCloseable {
    /** One request as received. */
    record Request(String method, String path, JsonNode body, String authorization, String userAgent, String protocol) {}

    /** What to answer: status, body, and a pause between bytes (a dribbling server). */
    record Answer(int status, byte[] body, long pauseMillisPerByte) {
        static Answer json(int status, String text) {
            return new Answer(status, text.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0);
        }
    }

    @FunctionalInterface
    interface Handler {
        Answer answer(Request request) throws Exception;
    }

    final List<Request> requests = new CopyOnWriteArrayList<>();
    private final HttpServer http;
    volatile Handler handler;

    FakeServer(Handler handler) throws IOException {
        this.handler = handler;
        http = HttpServer.create(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        http.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-server");
            t.setDaemon(true);
            return t;
        }));
        http.createContext("/", this::handle);
        http.start();
    }

    String url() {
        return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] raw = exchange.getRequestBody().readAllBytes();
            JsonNode body = null;
            try {
                body = raw.length == 0 ? null : Json.parse(raw);
            } catch (Json.JsonException e) {
                body = null;
            }
            Request request = new Request(exchange.getRequestMethod(), exchange.getRequestURI().getPath(), body,
                    exchange.getRequestHeaders().getFirst("Authorization"), exchange.getRequestHeaders().getFirst("User-Agent"),
                    exchange.getRequestHeaders().getFirst("Licentia-Protocol"));
            requests.add(request);
            Answer answer;
            try {
                answer = handler.answer(request);
            } catch (Exception e) {
                answer = Answer.json(599, "{}");
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(answer.status(), answer.pauseMillisPerByte() > 0 ? 0 : answer.body().length);
            OutputStream out = exchange.getResponseBody();
            if (answer.pauseMillisPerByte() > 0) {
                for (byte b : answer.body()) {
                    out.write(b);
                    out.flush();
                    Thread.sleep(answer.pauseMillisPerByte());
                }
            } else {
                out.write(answer.body());
            }
        } catch (InterruptedException | IOException e) {
            // the client gave up: fine
        }
    }

    @Override
    public void close() {
        http.stop(0);
    }
}
