package dev.devmem.gateway.http;

import dev.devmem.gateway.store.Manifest;
import dev.devmem.gateway.store.ObjectStore;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Serves the store's visible objects over HTTP (Reactor Netty), so a reader can fetch and verify them:
 * <ul>
 * <li>{@code GET /objects}: the manifests, as a JSON array;</li>
 * <li>{@code GET /objects/KEY/manifest}: one manifest;</li>
 * <li>{@code GET|HEAD /objects/KEY}: the bytes, with {@code Range} support (206 and
 *     {@code Content-Range}; 416 past the end), {@code x-checksum-crc32c} (the whole object's CRC32C
 *     from the manifest) and the same value as the ETag. Local files go out with {@code sendfile}.</li>
 * </ul>
 * An object without a manifest is 404, even while its data file is being written.
 */
public final class ObjectHttpServer implements AutoCloseable {
    public static final String CRC32C_HEADER = "x-checksum-crc32c";

    private final ObjectStore store;
    private final DisposableServer server;

    private ObjectHttpServer(ObjectStore store, InetSocketAddress bind) {
        this.store = store;
        this.server = HttpServer.create()
                .host(bind.getAddress().getHostAddress())
                .port(bind.getPort())
                .route(r -> r
                        .get("/objects", (req, res) -> list(res))
                        .get("/objects/{key}/manifest", (req, res) -> manifest(req, res))
                        .get("/objects/{key}", this::object)
                        .head("/objects/{key}", this::object))
                .bindNow();
    }

    public static ObjectHttpServer start(ObjectStore store, InetSocketAddress bind) {
        return new ObjectHttpServer(store, bind);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.address();
    }

    private Publisher<Void> list(HttpServerResponse res) {
        return Mono.fromCallable(store::list).subscribeOn(Schedulers.boundedElastic())
                .flatMap(all -> json(res, Manifest.toJson(all)));
    }

    private Publisher<Void> manifest(HttpServerRequest req, HttpServerResponse res) {
        String key = req.param("key");
        return Mono.fromCallable(() -> store.manifest(key)).subscribeOn(Schedulers.boundedElastic())
                .flatMap(m -> m.isPresent() ? json(res, new String(m.get().toJson(), StandardCharsets.UTF_8))
                        : notFound(res, key));
    }

    private static Mono<Void> json(HttpServerResponse res, String body) {
        return res.header(HttpHeaderNames.CONTENT_TYPE, "application/json").sendString(Mono.just(body)).then();
    }

    private static Mono<Void> notFound(HttpServerResponse res, String key) {
        return res.status(HttpResponseStatus.NOT_FOUND).sendString(Mono.just("no object " + key + "\n")).then();
    }

    private Publisher<Void> object(HttpServerRequest req, HttpServerResponse res) {
        String key = req.param("key");
        return Mono.fromCallable(() -> store.manifest(key)).subscribeOn(Schedulers.boundedElastic())
                .flatMap(m -> m.isPresent() ? send(req, res, m.get()) : notFound(res, key));
    }

    private Mono<Void> send(HttpServerRequest req, HttpServerResponse res, Manifest m) {
        long size = m.size();
        res.header(HttpHeaderNames.ACCEPT_RANGES, "bytes")
                .header(HttpHeaderNames.ETAG, "\"" + m.crc32c() + "\"")
                .header(CRC32C_HEADER, m.crc32c())
                .header(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
        long from;
        long count;
        switch (ByteRange.parse(req.requestHeaders().get(HttpHeaderNames.RANGE), size)) {
            case ByteRange.Unsatisfiable u -> {
                return res.status(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                        .header(HttpHeaderNames.CONTENT_RANGE, "bytes */" + size).send().then();
            }
            case ByteRange.Partial(ByteRange r) -> {
                res.status(HttpResponseStatus.PARTIAL_CONTENT)
                        .header(HttpHeaderNames.CONTENT_RANGE, r.contentRange(size));
                from = r.first();
                count = r.length();
            }
            case ByteRange.Whole w -> {
                from = 0;
                count = size;
            }
        }
        res.header(HttpHeaderNames.CONTENT_LENGTH, Long.toString(count));
        if (req.method().equals(HttpMethod.HEAD) || count == 0) {
            return res.send().then();
        }
        Optional<Path> file = store.localFile(m.key());
        if (file.isPresent()) {
            return res.sendFile(file.get(), from, count).then();
        }
        return res.send(Flux.from(store.read(m.key(), from, count)).map(Unpooled::wrappedBuffer)).then();
    }

    @Override
    public void close() {
        server.disposeNow();
    }
}
