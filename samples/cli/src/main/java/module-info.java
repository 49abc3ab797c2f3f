/**
 * The {@code devmem} command. A module so that the compiler holds it to devmem-ffm's public face and
 * to the netlink-family views devmem-ffm exports to it alone (doctor, NIC cleanup). It runs from the
 * shaded jar on the class path; the descriptor is for the compiler.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.devmem.cli {
    requires dev.devmem.reactor;
    requires dev.devmem.ffm;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;

    // picocli and Jackson reach the command classes and report records reflectively
    opens dev.devmem.cli to info.picocli, com.fasterxml.jackson.databind;
}
