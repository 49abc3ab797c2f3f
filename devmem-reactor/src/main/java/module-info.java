/**
 * Reactive devmem: {@code DevmemReceiver} and {@code DevmemSender} over any backend of the
 * {@code dev.devmem.api.spi} SPI. It compiles against devmem-api only; a backend module (devmem-ffm)
 * serves the backend, NIC setup and thread-context capture at run time.
 *
 * <p>Only the facade package is exported; {@code dev.devmem.reactor.rx} (receive),
 * {@code dev.devmem.reactor.tx} (send) and {@code dev.devmem.reactor.loop} (I/O loops, setup threads and
 * what both share) are internal, their {@code public} types public to each other only.
 *
 * <p>Reactor and Micrometer are automatic modules (no descriptor of their own); their types are part
 * of this module's API, hence {@code requires transitive} despite the lint.
 */
@SuppressWarnings({"requires-transitive-automatic", "requires-automatic"})
module dev.devmem.reactor {
    requires transitive dev.devmem.api;
    requires transitive reactor.core;
    requires transitive org.reactivestreams;
    requires transitive micrometer.core;
    requires transitive micrometer.commons;
    requires org.jctools.core;

    exports dev.devmem.reactor;

    uses dev.devmem.api.spi.KernelNicSetup;
    uses dev.devmem.api.spi.ThreadContextCapture;
}
