/**
 * The public value types and exceptions of reactive devmem, and the backend SPI. No native types,
 * no dependencies: everything above (the Reactor layer) and below (the backends) meets here.
 */
module dev.devmem.api {
    exports dev.devmem.api;
    exports dev.devmem.api.spi;
}
