package dev.devmem.cli;

import picocli.CommandLine;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/** {@code HOST:PORT}, {@code [IPV6]:PORT}, or {@code :PORT} (every local address) on the command line. */
final class HostPort {
    private HostPort() {
    }

    /**
     * @param wildcardOk whether an empty host (all addresses) is allowed, as for a listener
     * @param portZeroOk whether port 0 (any free port) is allowed, as for a listener
     * @throws IllegalArgumentException saying what is wrong
     */
    static InetSocketAddress parse(String text, boolean wildcardOk, boolean portZeroOk) {
        String s = text.trim();
        int colon = s.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("'" + text + "' is not HOST:PORT (e.g. 127.0.0.1:5201, [::1]:5201"
                    + (wildcardOk ? ", :5201 for every address" : "") + ")");
        }
        String host = s.substring(0, colon);
        String portText = s.substring(colon + 1);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException("'" + text + "': put an IPv6 address in brackets, e.g. [::1]:5201");
        }
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': the port '" + portText + "' is not a number");
        }
        if (port < (portZeroOk ? 0 : 1) || port > 65535) {
            throw new IllegalArgumentException("'" + text + "': the port must be in [" + (portZeroOk ? 0 : 1)
                    + ", 65535]" + (portZeroOk ? " (0: any free port)" : ""));
        }
        if (host.isEmpty()) {
            if (!wildcardOk) {
                throw new IllegalArgumentException("'" + text + "': a host is needed, e.g. 127.0.0.1:" + port);
            }
            return new InetSocketAddress(port);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "': unknown host '" + host + "'");
        }
    }

    /** {@code 127.0.0.1:5201}, {@code [::1]:5201}. */
    static String format(InetSocketAddress a) {
        String host = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** For {@code --listen}: wildcard host and port 0 allowed. */
    static final class ListenConverter implements CommandLine.ITypeConverter<InetSocketAddress> {
        @Override
        public InetSocketAddress convert(String value) {
            try {
                return parse(value, true, true);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** For {@code --connect}: a host and a real port. */
    static final class ConnectConverter implements CommandLine.ITypeConverter<InetSocketAddress> {
        @Override
        public InetSocketAddress convert(String value) {
            try {
                return parse(value, false, false);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
