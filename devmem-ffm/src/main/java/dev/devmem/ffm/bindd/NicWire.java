package dev.devmem.ffm.bindd;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * The NIC setup messages of the bindd wire protocol (frames, strings and limits as in {@link Wire}).
 *
 * <pre>
 * NIC_SETUP  (4)    string ifname , u16 n (1..{@value Wire#MAX_QUEUES}) , u32 queue[n] (distinct) ,
 *                   u8 addrLength (4|16) , u8 addr[addrLength] (not any, not multicast) , u16 port (1..65535)
 * NIC_UNDO   (5)    u32 id
 * NIC_SET    (0x84) u32 id , string ifname , u16 n (0..{@value #MAX_CHANGES}) , string change[n]
 * NIC_UNDONE (0x85) u32 id
 * </pre>
 *
 * A refused setup or undo is an ERROR (see {@link ErrorCodec}, kind NIC setup).
 */
final class NicWire {
    private NicWire() {
    }

    /** Changes a NIC_SET reply lists; the devmem setup makes at most four. */
    static final int MAX_CHANGES = 16;

    /** A NIC setup request as decoded: the devmem setup of {@code ifname} with a flow rule to {@code address:port}. */
    record NicSetupRequest(String ifname, List<Integer> queues, InetAddress address, int port) {
    }

    /** The daemon's answer to a NIC setup: the setup's id on this connection and what it changed. */
    record NicSet(int id, String ifname, List<String> changes) {
    }

    // ------------------------------------------------------------------------------ encoding

    static byte[] nicSetup(String ifname, List<Integer> queues, InetAddress address, int port) {
        Wire.Out o = new Wire.Out(Wire.NIC_SETUP).string(ifname).u16(queues.size());
        for (int q : queues) {
            o.u32(q);
        }
        byte[] a = address.getAddress();
        o.u8(a.length);
        for (byte x : a) {
            o.u8(x);
        }
        return o.u16(port).frame();
    }

    static byte[] nicUndo(int id) {
        return new Wire.Out(Wire.NIC_UNDO).u32(id).frame();
    }

    static byte[] nicSet(NicSet n) {
        List<String> changes = n.changes().size() > MAX_CHANGES ? n.changes().subList(0, MAX_CHANGES) : n.changes();
        Wire.Out o = new Wire.Out(Wire.NIC_SET).u32(n.id()).string(n.ifname()).u16(changes.size());
        for (String c : changes) {
            o.string(c.length() > 200 ? c.substring(0, 200) : c);
        }
        return o.frame();
    }

    static byte[] nicUndone(int id) {
        return new Wire.Out(Wire.NIC_UNDONE).u32(id).frame();
    }

    // ------------------------------------------------------------------------------ decoding

    static NicSetupRequest nicSetupRequest(byte[] body) throws WireException {
        Wire.expect(body, Wire.NIC_SETUP);
        Wire.In in = new Wire.In(body);
        String ifname = Wire.ifname(in);
        List<Integer> queues = Wire.queues(in);
        int len = in.u8("address length");
        if (len != 4 && len != 16) {
            throw new WireException("an address has 4 or 16 bytes, not " + len);
        }
        byte[] a = new byte[len];
        for (int i = 0; i < len; i++) {
            a[i] = (byte) in.u8("address");
        }
        int port = in.u16("port");
        if (port == 0) {
            throw new WireException("port 0 steers nothing: the flow rule needs the listen port");
        }
        in.end();
        InetAddress address;
        try {
            address = InetAddress.getByAddress(a);
        } catch (UnknownHostException e) {
            throw new WireException("address: " + e.getMessage());
        }
        if (address.isAnyLocalAddress() || address.isMulticastAddress()) {
            throw new WireException("the flow rule needs a concrete local address, not " + address.getHostAddress());
        }
        return new NicSetupRequest(ifname, queues, address, port);
    }

    static int nicUndoRequest(byte[] body) throws WireException {
        Wire.expect(body, Wire.NIC_UNDO);
        Wire.In in = new Wire.In(body);
        long id = in.u32("id");
        in.end();
        return (int) id;
    }

    static NicSet nicSet(byte[] body) throws WireException {
        Wire.expect(body, Wire.NIC_SET);
        Wire.In in = new Wire.In(body);
        int id = (int) in.u32("id");
        String ifname = in.string("ifname");
        int n = in.u16("change count");
        if (ifname == null || n > MAX_CHANGES) {
            throw new WireException("malformed NIC_SET reply");
        }
        List<String> changes = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String c = in.string("change");
            if (c == null) {
                throw new WireException("malformed NIC_SET reply: an absent change");
            }
            changes.add(c);
        }
        in.end();
        return new NicSet(id, ifname, List.copyOf(changes));
    }

    static int nicUndone(byte[] body) throws WireException {
        Wire.expect(body, Wire.NIC_UNDONE);
        Wire.In in = new Wire.In(body);
        long id = in.u32("id");
        in.end();
        return (int) id;
    }
}
