package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.netlink.AttributeSet;
import dev.devmem.ffm.netlink.ErrorExplainer;
import dev.devmem.ffm.netlink.GenlFamily;
import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.GenlMessageWriter;
import dev.devmem.ffm.netlink.GenlRequest;
import dev.devmem.ffm.netlink.NetlinkSocket;
import dev.devmem.ffm.sys.Syscalls;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

import static dev.devmem.ffm.netdev.NetdevSpec.*;

/**
 * The kernel's {@code netdev} generic-netlink family: what devices, queues, page pools and NAPI
 * instances exist, and the devmem binds. One socket answers the queries; every binding gets its own
 * socket (see {@link NetdevRxBinding}).
 *
 * <p>Support is decided by what the running kernel registered, not by its version string: no
 * {@code netdev} family or no bind-rx command means devmem RX needs Linux 6.12; no bind-tx command
 * means devmem TX needs 6.16. Both are {@link DevmemUnsupportedException}s.
 *
 * <p>Everything happens in the network namespace of the thread that called {@link #open()} (for
 * queries) or the bind method (for bindings). Calls are serialized on the query socket.
 */
public final class Netdev implements AutoCloseable {
    private static final Runnable NOTHING = () -> {
    };

    private final NetlinkSocket socket;
    private final GenlFamily family;

    Netdev(NetlinkSocket socket, GenlFamily family) {
        this.socket = socket;
        this.family = family;
    }

    /** Opens a socket in the calling thread's network namespace and resolves the family. */
    public static Netdev open() throws DevmemException {
        return open(FAMILY);
    }

    /** {@link #open()} for a family name; lets tests ask the kernel for a family it lacks. */
    static Netdev open(String familyName) throws DevmemException {
        NetlinkSocket s = NetlinkSocket.open();
        try {
            return new Netdev(s, resolve(s, familyName));
        } catch (DevmemException | RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    private static GenlFamily resolve(NetlinkSocket s, String name) throws DevmemException {
        try {
            return GenlFamily.resolve(s, name);
        } catch (NetlinkException e) {
            if (e.errno().equals(Errno.ENOENT)) {
                throw new DevmemUnsupportedException(FAMILY, "6.12", "this kernel has no \"" + name
                        + "\" generic-netlink family: devmem RX needs Linux 6.12 or later, built with "
                        + "CONFIG_NET_DEVMEM (devmem TX needs 6.16)", e);
            }
            throw e;
        }
    }

    /** The family as this kernel registered it: id, commands and their flags, groups. */
    public GenlFamily family() {
        return family;
    }

    /** dev-get for one interface; {@code ENODEV} when it does not exist here. */
    public NetdevDevice device(int ifindex) throws DevmemException {
        requireDo(CMD_DEV_GET, "dev-get");
        GenlRequest r = writer("dev-get", CMD_DEV_GET, DEV).u32(DEV_IFINDEX, ifindex).build();
        return NetdevDevice.parse(one(socket.request(r, NetdevExplanations.device(ifindex)), r).attributes());
    }

    /** dev-get dump: every interface of the namespace. */
    public List<NetdevDevice> devices() throws DevmemException {
        requireDump(CMD_DEV_GET, "dev-get");
        List<NetdevDevice> out = new ArrayList<>();
        for (GenlMessage m : socket.dump(writer("dev-get", CMD_DEV_GET, DEV).build())) {
            out.add(NetdevDevice.parse(m.attributes()));
        }
        return out;
    }

    /** queue-get for one queue. */
    public NetdevQueue queue(int ifindex, QueueType type, int id) throws DevmemException {
        requireDo(CMD_QUEUE_GET, "queue-get");
        GenlRequest r = writer("queue-get", CMD_QUEUE_GET, QUEUE).u32(QUEUE_IFINDEX, ifindex)
                .u32(QUEUE_TYPE, type.value()).u32(QUEUE_ID, id).build();
        NetdevQueue q = NetdevQueue.parse(one(socket.request(r, NetdevExplanations.device(ifindex)), r).attributes());
        if (q == null) {
            throw new DevmemProtocolException("netdev queue-get: the reply's queue type is unknown");
        }
        return q;
    }

    /** queue-get dump over every interface; queues of types newer than this library are left out. */
    public List<NetdevQueue> queues() throws DevmemException {
        return queues(OptionalInt.empty());
    }

    /** queue-get dump of one interface. */
    public List<NetdevQueue> queues(int ifindex) throws DevmemException {
        return queues(OptionalInt.of(ifindex));
    }

    private List<NetdevQueue> queues(OptionalInt ifindex) throws DevmemException {
        requireDump(CMD_QUEUE_GET, "queue-get");
        GenlMessageWriter w = writer("queue-get", CMD_QUEUE_GET, QUEUE);
        ifindex.ifPresent(i -> w.u32(QUEUE_IFINDEX, i));
        List<NetdevQueue> out = new ArrayList<>();
        for (GenlMessage m : socket.dump(w.build(), explainDevice(ifindex))) {
            NetdevQueue q = NetdevQueue.parse(m.attributes());
            if (q != null) {
                out.add(q);
            }
        }
        return out;
    }

    /** page-pool-get for one pool; {@code ENOENT} when there is none with that id here. */
    public NetdevPagePool pagePool(long id) throws DevmemException {
        requireDo(CMD_PAGE_POOL_GET, "page-pool-get");
        GenlRequest r = writer("page-pool-get", CMD_PAGE_POOL_GET, PAGE_POOL).uint(PAGE_POOL_ID, id).build();
        return NetdevPagePool.parse(one(socket.request(r), r).attributes());
    }

    /** page-pool-get dump. */
    public List<NetdevPagePool> pagePools() throws DevmemException {
        requireDump(CMD_PAGE_POOL_GET, "page-pool-get");
        List<NetdevPagePool> out = new ArrayList<>();
        for (GenlMessage m : socket.dump(writer("page-pool-get", CMD_PAGE_POOL_GET, PAGE_POOL).build())) {
            out.add(NetdevPagePool.parse(m.attributes()));
        }
        return out;
    }

    /** napi-get for one NAPI instance. */
    public NetdevNapi napi(int id) throws DevmemException {
        requireDo(CMD_NAPI_GET, "napi-get");
        GenlRequest r = writer("napi-get", CMD_NAPI_GET, NAPI).u32(NAPI_ID, id).build();
        return NetdevNapi.parse(one(socket.request(r), r).attributes());
    }

    /** napi-get dump over every interface. */
    public List<NetdevNapi> napis() throws DevmemException {
        return napis(OptionalInt.empty());
    }

    /** napi-get dump of one interface. */
    public List<NetdevNapi> napis(int ifindex) throws DevmemException {
        return napis(OptionalInt.of(ifindex));
    }

    private List<NetdevNapi> napis(OptionalInt ifindex) throws DevmemException {
        requireDump(CMD_NAPI_GET, "napi-get");
        GenlMessageWriter w = writer("napi-get", CMD_NAPI_GET, NAPI);
        ifindex.ifPresent(i -> w.u32(NAPI_IFINDEX, i));
        List<NetdevNapi> out = new ArrayList<>();
        for (GenlMessage m : socket.dump(w.build(), explainDevice(ifindex))) {
            out.add(NetdevNapi.parse(m.attributes()));
        }
        return out;
    }

    /** qstats-get dump, device scope, over every interface that keeps statistics. */
    public List<NetdevQstats> qstats() throws DevmemException {
        return qstats(OptionalInt.empty(), false);
    }

    /**
     * qstats-get dump of one interface, per device or per queue. {@code EOPNOTSUPP} when the
     * device keeps no statistics (the kernel says so inside the dump's DONE).
     */
    public List<NetdevQstats> qstats(int ifindex, boolean perQueue) throws DevmemException {
        return qstats(OptionalInt.of(ifindex), perQueue);
    }

    private List<NetdevQstats> qstats(OptionalInt ifindex, boolean perQueue) throws DevmemException {
        requireDump(CMD_QSTATS_GET, "qstats-get");
        GenlMessageWriter w = writer("qstats-get", CMD_QSTATS_GET, QSTATS);
        ifindex.ifPresent(i -> w.u32(QSTATS_IFINDEX, i));
        if (perQueue) {
            w.uint(QSTATS_SCOPE, QSTATS_SCOPE_QUEUE);
        }
        ErrorExplainer device = explainDevice(ifindex);
        ErrorExplainer stats = NetdevExplanations.qstats();
        List<NetdevQstats> out = new ArrayList<>();
        for (GenlMessage m : socket.dump(w.build(), f -> {
            String s = device.explain(f);
            return s != null ? s : stats.explain(f);
        })) {
            out.add(NetdevQstats.parse(m.attributes()));
        }
        return out;
    }

    /**
     * bind-rx: binds a dmabuf to rx queues, on a new netlink socket the binding owns. The socket
     * and therefore the binding belong to the calling thread's network namespace. On failure the
     * socket is closed before the exception leaves, and the dmabuf fd stays the caller's.
     */
    public NetdevRxBinding bindRx(BindRxParams params) throws DevmemException {
        return bindRx(params, NOTHING);
    }

    /**
     * {@link #bindRx(BindRxParams)}, and the binding also owns {@code alsoRelease}: closing it runs
     * that once, after the socket closed (even when closing the socket failed). Like the dmabuf fd,
     * it passes to the binding only when the bind succeeds.
     */
    public NetdevRxBinding bindRx(BindRxParams params, Runnable alsoRelease) throws DevmemException {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(alsoRelease, "alsoRelease");
        requireBind(CMD_BIND_RX, "bind-rx", "6.12", "devmem RX");
        BindingSocket s = BindingSocket.bind(bindRxRequest(params), NetdevExplanations.bindRx(params.ifindex()),
                params.dmabufFd(), params.ownsDmabufFd(), alsoRelease);
        return new NetdevRxBinding(s, params, interfaceName(params.ifindex()));
    }

    /** bind-tx (Linux 6.16+): binds a dmabuf for devmem TX; same ownership rules as {@link #bindRx}. */
    public NetdevTxBinding bindTx(BindTxParams params) throws DevmemException {
        return bindTx(params, NOTHING);
    }

    /** {@link #bindTx(BindTxParams)} with a release the binding owns, as in {@link #bindRx(BindRxParams, Runnable)}. */
    public NetdevTxBinding bindTx(BindTxParams params, Runnable alsoRelease) throws DevmemException {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(alsoRelease, "alsoRelease");
        requireBind(CMD_BIND_TX, "bind-tx", "6.16", "devmem TX");
        BindingSocket s = BindingSocket.bind(bindTxRequest(params), NetdevExplanations.bindTx(params.ifindex()),
                params.dmabufFd(), params.ownsDmabufFd(), alsoRelease);
        return new NetdevTxBinding(s, params, interfaceName(params.ifindex()));
    }

    /** Subscribes to a multicast group ({@link NetdevSpec#GROUP_MGMT} or {@link NetdevSpec#GROUP_PAGE_POOL}). */
    public NetdevNotifications subscribe(String group) throws DevmemException {
        OptionalInt id = family.group(group);
        if (id.isEmpty()) {
            throw new DevmemUnsupportedException(FAMILY + " group " + group, null,
                    "the netdev family of this kernel has no multicast group \"" + group + "\"; it has " + family.groups().keySet());
        }
        NetlinkSocket s = NetlinkSocket.open();
        try {
            s.joinGroup(id.getAsInt());
            return new NetdevNotifications(s, family.id());
        } catch (DevmemException | RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    /** Closes the query socket; bindings made through this object stay bound. Idempotent. */
    @Override
    public void close() {
        socket.close();
    }

    // ---- the request path, package-private so that tests can send requests the public API never builds

    GenlMessageWriter writer(String operation, int cmd, AttributeSet attributes) {
        return family.writer(operation, cmd, attributes);
    }

    GenlRequest bindRxRequest(BindRxParams p) {
        GenlMessageWriter w = writer("bind-rx", CMD_BIND_RX, DMABUF)
                .u32(DMABUF_IFINDEX, p.ifindex())
                .u32(DMABUF_FD, p.dmabufFd());
        for (int q : p.rxQueues()) {
            w.beginArrayElement(DMABUF_QUEUES).u32(QUEUE_ID, q).u32(QUEUE_TYPE, QueueType.RX.value()).endNest();
        }
        return w.build();
    }

    GenlRequest bindTxRequest(BindTxParams p) {
        return writer("bind-tx", CMD_BIND_TX, DMABUF)
                .u32(DMABUF_IFINDEX, p.ifindex())
                .u32(DMABUF_FD, p.dmabufFd())
                .build();
    }

    /** Sends a bind-style request on a fresh socket, as the bind methods do (malformed requests in tests). */
    static BindingSocket bindRaw(GenlRequest request, ErrorExplainer explainer) throws DevmemException {
        return BindingSocket.bind(request, explainer, -1, false, NOTHING);
    }

    private void requireBind(int cmd, String op, String since, String feature) throws DevmemUnsupportedException {
        if (!family.canDo(cmd)) {
            throw new DevmemUnsupportedException(FAMILY + " " + op, since, "this kernel's netdev family has no "
                    + op + " command (" + cmd + "): " + feature + " needs Linux " + since + " or later");
        }
    }

    private void requireDo(int cmd, String op) throws DevmemUnsupportedException {
        if (!family.canDo(cmd)) {
            throw new DevmemUnsupportedException(FAMILY + " " + op, null, "this kernel's netdev family has no " + op
                    + " do command (" + cmd + ")");
        }
    }

    private void requireDump(int cmd, String op) throws DevmemUnsupportedException {
        if (!family.canDump(cmd)) {
            throw new DevmemUnsupportedException(FAMILY + " " + op, null, "this kernel's netdev family has no " + op
                    + " dump (" + cmd + ")");
        }
    }

    private static ErrorExplainer explainDevice(OptionalInt ifindex) {
        return ifindex.isPresent() ? NetdevExplanations.device(ifindex.getAsInt()) : ErrorExplainer.NONE;
    }

    private static GenlMessage one(List<GenlMessage> replies, GenlRequest r) throws DevmemProtocolException {
        if (replies.size() != 1) {
            throw new DevmemProtocolException(r.operation() + ": expected one reply, got " + replies.size());
        }
        return replies.getFirst();
    }

    private static String interfaceName(int ifindex) {
        String name = Syscalls.ifIndexToName(ifindex);
        return name != null ? name : "ifindex " + ifindex;
    }
}
