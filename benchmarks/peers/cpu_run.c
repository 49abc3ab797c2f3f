/*
 * Runs a command as a child and accounts for its CPU exactly: writes "pid PID" to OUTFILE as soon
 * as the child exists (so the caller can read /proc/PID/stat for the start-up CPU), then, once the
 * child has exited, "cpu USER_US SYS_US STATUS" from wait4's rusage (every thread the child ever
 * had, the JVM's GC and JIT threads included).
 *
 * Usage: cpu_run OUTFILE COMMAND [ARGS...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: cpu_run OUTFILE COMMAND [ARGS...]\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror("cpu_run: OUTFILE");
        return 2;
    }
    pid_t pid = fork();
    if (pid == 0) {
        fclose(out);
        execvp(argv[2], argv + 2);
        perror("cpu_run: exec");
        _exit(127);
    }
    fprintf(out, "pid %d\n", (int) pid);
    fflush(out);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("cpu_run: wait4");
        return 1;
    }
    long long user = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    long long sys = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(out, "cpu %lld %lld %d\n", user, sys, code);
    fclose(out);
    return code;
}
