package dev.devmem.ffm.sys;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.ThreadContextCapture;

/**
 * This module's {@link ThreadContextCapture}, found through {@link java.util.ServiceLoader}: the
 * calling thread's network namespace ({@link NetnsAffinity}).
 */
public final class NetnsThreadContext implements ThreadContextCapture {

    @Override
    public Captured capture() throws DevmemException {
        NetnsAffinity netns = NetnsAffinity.ofCurrentThread();
        return new Captured() {
            @Override
            public void enter() throws DevmemException {
                netns.enter();
            }

            @Override
            public void close() {
                netns.close();
            }

            @Override
            public String toString() {
                return netns.toString();
            }
        };
    }
}
