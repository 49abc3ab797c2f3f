package dev.devmem.ffm.bindd;

import java.util.Arrays;

/**
 * Who is at the other end of a Unix socket, as the kernel recorded it when the peer connected
 * ({@code SO_PEERCRED}), with the supplementary groups ({@code SO_PEERGROUPS}). Neither can be
 * forged by the peer: they are the credentials of the process that called {@code connect}.
 */
record PeerCred(int pid, int uid, int gid, int[] groups) {

    PeerCred {
        groups = groups.clone();
    }

    boolean inGroup(int g) {
        if (gid == g) {
            return true;
        }
        for (int s : groups) {
            if (s == g) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int[] groups() {
        return groups.clone();
    }

    @Override
    public String toString() {
        return "pid " + pid + " uid " + Integer.toUnsignedString(uid) + " gid " + Integer.toUnsignedString(gid)
                + (groups.length == 0 ? "" : " groups " + Arrays.toString(groups));
    }
}
