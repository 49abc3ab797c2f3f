package dev.devmem.ffm.netlink;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The names of a family's attributes, as its netlink spec declares them (an {@code attribute-set}),
 * with the sets its nests contain. The client knows no family; a family hands its sets to the
 * {@link GenlMessageWriter}, which is how an extended ACK's byte offset or missing type becomes a
 * name like {@code dmabuf.queues[1].type}.
 */
public final class AttributeSet {
    private final String name;
    private final Map<Integer, String> names;
    private final Map<Integer, AttributeSet> nests;

    private AttributeSet(String name, Map<Integer, String> names, Map<Integer, AttributeSet> nests) {
        this.name = name;
        this.names = Map.copyOf(names);
        this.nests = Map.copyOf(nests);
    }

    /** Starts a set; the name is the first component of every dotted path written with it. */
    public static Builder named(String name) {
        return new Builder(name);
    }

    public String name() {
        return name;
    }

    /** The attribute's name, or {@code #type} for one the set does not declare. */
    public String nameOf(int type) {
        String n = names.get(type);
        return n != null ? n : "#" + type;
    }

    /** The set inside a nest attribute, when it is one. */
    public Optional<AttributeSet> nestOf(int type) {
        return Optional.ofNullable(nests.get(type));
    }

    @Override
    public String toString() {
        return "AttributeSet[" + name + " " + names + "]";
    }

    /** Collects the attributes of a set. */
    public static final class Builder {
        private final String name;
        private final Map<Integer, String> names = new HashMap<>();
        private final Map<Integer, AttributeSet> nests = new HashMap<>();

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
        }

        public Builder attr(int type, String attrName) {
            if (names.putIfAbsent(type, Objects.requireNonNull(attrName, "attrName")) != null) {
                throw new IllegalArgumentException(name + ": type " + type + " declared twice");
            }
            return this;
        }

        public Builder nest(int type, String attrName, AttributeSet inner) {
            attr(type, attrName);
            nests.put(type, Objects.requireNonNull(inner, "inner"));
            return this;
        }

        public AttributeSet build() {
            return new AttributeSet(name, names, nests);
        }
    }
}
