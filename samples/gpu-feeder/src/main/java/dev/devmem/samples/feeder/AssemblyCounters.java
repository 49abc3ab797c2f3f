package dev.devmem.samples.feeder;

import dev.devmem.api.FragKind;

/** What the assembler saw; written on the receive thread only, read after the feed ends. */
final class AssemblyCounters {
    long receives;
    long frags;
    long dmabufFrags;
    long linearFrags;
    long hostFrags;
    long records;
    long pieces;
    long batches;
    long recordsSpanningFrags;
    long recordsSpanningReceives;
    long recordsWithLinear;
    int maxPiecesPerRecord;

    void frag(FragKind kind) {
        frags++;
        switch (kind) {
            case DMABUF -> dmabufFrags++;
            case LINEAR -> linearFrags++;
            case HOST -> hostFrags++;
        }
    }

    void record(int recordPieces, boolean spannedReceives, boolean hadLinear) {
        records++;
        pieces += recordPieces;
        maxPiecesPerRecord = Math.max(maxPiecesPerRecord, recordPieces);
        if (recordPieces > 1) {
            recordsSpanningFrags++;
        }
        if (spannedReceives) {
            recordsSpanningReceives++;
        }
        if (hadLinear) {
            recordsWithLinear++;
        }
    }
}
