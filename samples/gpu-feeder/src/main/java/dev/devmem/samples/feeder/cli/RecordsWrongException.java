package dev.devmem.samples.feeder.cli;

/** Records arrived wrong or not at all: exit code 1. */
final class RecordsWrongException extends Exception {
    RecordsWrongException(String message) {
        super(message);
    }
}
