/*
 * The limit of the peers benchmark: a plain blocking recv() loop into one 1 MiB buffer. Listens on
 * 127.0.0.1:PORT, accepts one connection, reads until the peer ends the stream, discards the bytes,
 * closes, and prints the byte count.
 *
 * Usage: peer_recv PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: peer_recv PORT\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *) &a, sizeof a) != 0 || listen(ls, 16) != 0) {
        fprintf(stderr, "peer_recv: bind/listen: %s\n", strerror(errno));
        return 1;
    }
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) {
        fprintf(stderr, "peer_recv: accept: %s\n", strerror(errno));
        return 1;
    }
    size_t size = 1 << 20;
    char *buf = malloc(size);
    long long total = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, size, 0);
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "peer_recv: recv: %s\n", strerror(errno));
            return 1;
        }
        total += r;
    }
    close(fd);
    printf("%lld\n", total);
    return 0;
}
