package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;

import java.net.InetSocketAddress;

/** A non-blocking TCP listener of a backend. */
public interface DevmemListener extends Pollable, AutoCloseable {

    InetSocketAddress localAddress();

    /** Accepts one pending connection, or returns {@code null} when none is pending. */
    DevmemSocket accept() throws DevmemException;

    @Override
    void close();
}
