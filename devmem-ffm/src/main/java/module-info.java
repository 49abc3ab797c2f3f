/**
 * The Linux backend over java.lang.foreign and the emulated devmem NIC.
 *
 * <p>The public face is {@code dev.devmem.ffm} (pick a backend, size its sockets' memory, ask the
 * kernel diagnostic questions) and {@code dev.devmem.ffm.emulated} (the emulated NIC, a product
 * feature) and {@code dev.devmem.ffm.bindd} (the privileged binder daemon and its client backend). Everything else (system calls, netlink, the receive and send engines) is internal. The
 * netlink-family views the {@code devmem} command's doctor and NIC cleanup print are exported to
 * that command only. NIC setup and the capture of a thread's network namespace serve the SPI of
 * {@code dev.devmem.api.spi}, so the Reactor layer never compiles against this module.
 *
 * <p>{@code module}: the qualified exports name a module that is only built after this one.
 */
@SuppressWarnings("module")
module dev.devmem.ffm {
    requires transitive dev.devmem.api;

    exports dev.devmem.ffm;
    exports dev.devmem.ffm.emulated;
    exports dev.devmem.ffm.bindd; // the binder daemon and the backend that binds through it (docs/security.md)

    exports dev.devmem.ffm.ethtool to dev.devmem.cli;
    exports dev.devmem.ffm.netdev to dev.devmem.cli;
    exports dev.devmem.ffm.netlink to dev.devmem.cli; // the doctor lists the generic netlink families' ops
    exports dev.devmem.ffm.nicsetup to dev.devmem.cli;

    provides dev.devmem.api.spi.KernelNicSetup with dev.devmem.ffm.nicsetup.KernelNicSetupProvider;
    provides dev.devmem.api.spi.ThreadContextCapture with dev.devmem.ffm.sys.NetnsThreadContext;
}
