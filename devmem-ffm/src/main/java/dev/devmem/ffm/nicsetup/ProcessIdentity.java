package dev.devmem.ffm.nicsetup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * A process as the state file names it: its pid and its start time in clock ticks since boot
 * ({@code /proc/PID/stat} field 22). Pids are recycled; the pair is not, so a new process that got a
 * dead owner's pid is not taken for the owner.
 */
record ProcessIdentity(long pid, OptionalLong startTicks) {

    static ProcessIdentity self() {
        long pid = ProcessHandle.current().pid();
        return new ProcessIdentity(pid, startTicks(pid));
    }

    /** Whether this process is still running: the pid exists and started when it did. */
    boolean alive() {
        OptionalLong now = startTicks(pid);
        if (now.isEmpty()) {
            return false;
        }
        return startTicks.isEmpty() || startTicks.getAsLong() == now.getAsLong();
    }

    static OptionalLong startTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: split after the last ')'
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return OptionalLong.of(Long.parseLong(f[19])); // field 22 overall = index 19 after pid and comm
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }
}
