/*
 * The one sender of the peers benchmark: connects to 127.0.0.1:PORT, writes BYTES bytes of the
 * netcat pattern (1, 2, ..., PERIOD-1, then 0, repeating: what the kernel doc's
 * `yes $(echo -e \\x01\\x02...) | tr \\n \\0 | nc` sends) from one 1 MiB buffer whose length is a
 * multiple of the period, shuts its side down, and waits for the receiver to close. It prints
 * "BYTES NANOS", the time from the completed connect to the receiver's close: the receiver has
 * then taken every byte, so the time covers the whole transfer on the receiving side as well.
 *
 * Usage: peer_send PORT BYTES [PERIOD]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: peer_send PORT BYTES [PERIOD]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long long bytes = atoll(argv[2]);
    int period = argc > 3 ? atoi(argv[3]) : 7;
    if (period < 2 || period > 256) {
        fprintf(stderr, "peer_send: period must be in [2, 256]\n");
        return 2;
    }
    size_t chunk = ((1 << 20) + period - 1) / period * period;
    unsigned char *buf = malloc(chunk);
    for (size_t i = 0; i < chunk; i++) {
        int phase = (int) (i % period);
        buf[i] = phase == period - 1 ? 0 : (unsigned char) (phase + 1);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &a, sizeof a) != 0) {
        fprintf(stderr, "peer_send: connect 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    long long start = now_ns();
    long long left = bytes;
    size_t off = 0; /* the buffer is a whole number of periods, so wrapping keeps the pattern */
    while (left > 0) {
        size_t n = chunk - off;
        if ((long long) n > left) n = (size_t) left;
        ssize_t w = write(fd, buf + off, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "peer_send: write: %s after %lld bytes\n", strerror(errno), bytes - left);
            return 1;
        }
        left -= w;
        off = (off + (size_t) w) % chunk;
    }
    shutdown(fd, SHUT_WR);
    char sink[4096];
    ssize_t r;
    while ((r = read(fd, sink, sizeof sink)) != 0) {
        if (r < 0 && errno != EINTR && errno != ECONNRESET) {
            fprintf(stderr, "peer_send: read: %s\n", strerror(errno));
            return 1;
        }
        if (r < 0 && errno == ECONNRESET) break;
    }
    long long end = now_ns();
    printf("%lld %lld\n", bytes, end - start);
    return 0;
}
