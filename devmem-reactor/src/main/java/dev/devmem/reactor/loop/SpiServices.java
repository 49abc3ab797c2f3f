package dev.devmem.reactor.loop;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.spi.KernelNicSetup;
import dev.devmem.api.spi.ThreadContextCapture;

import java.util.ServiceLoader;

/**
 * The SPI services a backend module serves beside its backend ({@link KernelNicSetup},
 * {@link ThreadContextCapture}), looked up once. This module compiles against devmem-api only; the
 * backend module on the class or module path provides them.
 */
public final class SpiServices {
    private SpiServices() {
    }

    private static final class Loaded {
        static final KernelNicSetup NIC_SETUP = ServiceLoader.load(KernelNicSetup.class,
                SpiServices.class.getClassLoader()).findFirst().orElse(null);
        static final ThreadContextCapture THREAD_CONTEXT = ServiceLoader.load(ThreadContextCapture.class,
                SpiServices.class.getClassLoader()).findFirst().orElse(NoContext.INSTANCE);
    }

    /** The backend module's NIC setup; refused in words when no backend module serves one. */
    public static KernelNicSetup kernelNicSetup() throws DevmemException {
        KernelNicSetup s = Loaded.NIC_SETUP;
        if (s == null) {
            throw new DevmemUnsupportedException("NicSetup.kernel()", null,
                    "no backend module on the class or module path provides " + KernelNicSetup.class.getName()
                            + " (devmem-ffm does)");
        }
        return s;
    }

    /** The calling thread's context (its network namespace on Linux), or nothing without a provider. */
    public static ThreadContextCapture.Captured captureThreadContext() throws DevmemException {
        return Loaded.THREAD_CONTEXT.capture();
    }

    private enum NoContext implements ThreadContextCapture, ThreadContextCapture.Captured {
        INSTANCE;

        @Override
        public Captured capture() {
            return this;
        }

        @Override
        public void enter() {
        }

        @Override
        public void close() {
        }
    }
}
