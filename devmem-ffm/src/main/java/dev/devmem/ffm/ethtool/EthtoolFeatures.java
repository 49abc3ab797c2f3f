package dev.devmem.ffm.ethtool;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An interface's netdev features as {@code features-get} reports them ({@code ethtool -k}), with
 * the names of the bits from the kernel's {@code features} string set, so that a feature is found
 * by its name ({@code rx-ntuple-filter}) whatever bit this kernel gave it.
 *
 * @param names feature names by bit index, from {@code strset-get} ({@code ETH_SS_FEATURES}); the
 *              kernel names unused bits "" (four of them on Linux 6.18)
 * @param hw       the features the driver lets the user change
 * @param wanted   the features the user asked for
 * @param active   the features in effect
 * @param nochange the features the kernel never lets change
 */
public record EthtoolFeatures(String ifname, List<String> names, EthtoolBitset hw, EthtoolBitset wanted,
                              EthtoolBitset active, EthtoolBitset nochange) {

    public EthtoolFeatures {
        names = List.copyOf(names);
    }

    /**
     * One feature.
     *
     * @param changeable whether the driver lets it be toggled (in {@code hw} and not in {@code nochange})
     */
    public record Feature(String name, int index, boolean changeable, boolean wanted, boolean active) {

        /** ethtool's "[fixed]": the user cannot change it. */
        public boolean fixed() {
            return !changeable;
        }
    }

    /** The feature called {@code name}; empty when this kernel has no feature of that name. */
    public Optional<Feature> feature(String name) {
        Objects.requireNonNull(name, "name");
        int i = name.isEmpty() ? -1 : names.indexOf(name);
        return i < 0 ? Optional.empty() : Optional.of(at(i));
    }

    /** Every feature the kernel names, in bit order (bits the kernel leaves unnamed, unused ones, are left out). */
    public List<Feature> all() {
        List<Feature> out = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            if (!names.get(i).isEmpty()) {
                out.add(at(i));
            }
        }
        return out;
    }

    private Feature at(int i) {
        return new Feature(names.get(i), i, hw.get(i) && !nochange.get(i), wanted.get(i), active.get(i));
    }
}
