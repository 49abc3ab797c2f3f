package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemProtocolException;

import java.util.OptionalInt;
import java.util.OptionalLong;

import static dev.devmem.ffm.netlink.NetlinkConstants.*;

/**
 * What the kernel's policy allows for one attribute, as it describes it in an extended ACK
 * ({@code NLMSGERR_ATTR_POLICY}) or a {@code CTRL_CMD_GETPOLICY} dump: a nest of
 * {@code NL_POLICY_TYPE_ATTR_*}. {@link #describe()} renders it the way error messages show it,
 * e.g. {@code u32 min 1 max 4294967295}.
 *
 * @param type        {@code enum netlink_attribute_type}, e.g. 4 for u32
 * @param minUnsigned unsigned minimum (as 64 bits; print with {@link Long#toUnsignedString})
 */
public record AttributePolicy(OptionalInt type, OptionalLong minUnsigned, OptionalLong maxUnsigned,
                              OptionalLong minSigned, OptionalLong maxSigned, OptionalInt minLength,
                              OptionalInt maxLength, OptionalInt policyIndex, OptionalInt policyMaxType,
                              OptionalInt bitfield32Mask, OptionalLong mask) {

    private static final String[] TYPE_NAMES = {
        "invalid", "flag", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
        "binary", "string", "nul-string", "nested", "nested-array", "bitfield32", "sint", "uint",
    };

    public static AttributePolicy parse(NlAttributes a) throws DevmemProtocolException {
        return new AttributePolicy(a.u32(NL_POLICY_TYPE_ATTR_TYPE),
                a.u64(NL_POLICY_TYPE_ATTR_MIN_VALUE_U), a.u64(NL_POLICY_TYPE_ATTR_MAX_VALUE_U),
                a.u64(NL_POLICY_TYPE_ATTR_MIN_VALUE_S), a.u64(NL_POLICY_TYPE_ATTR_MAX_VALUE_S),
                a.u32(NL_POLICY_TYPE_ATTR_MIN_LENGTH), a.u32(NL_POLICY_TYPE_ATTR_MAX_LENGTH),
                a.u32(NL_POLICY_TYPE_ATTR_POLICY_IDX), a.u32(NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE),
                a.u32(NL_POLICY_TYPE_ATTR_BITFIELD32_MASK), a.u64(NL_POLICY_TYPE_ATTR_MASK));
    }

    /** The type's name, e.g. {@code u32}, or {@code type#N} for a type newer than this library. */
    public String typeName() {
        if (type.isEmpty()) {
            return "?";
        }
        int t = type.getAsInt();
        return t >= 0 && t < TYPE_NAMES.length ? TYPE_NAMES[t] : "type#" + t;
    }

    /** E.g. {@code u32 min 1 max 4294967295}, {@code binary max-length 16}, {@code uint mask 0x1}. */
    public String describe() {
        StringBuilder sb = new StringBuilder(typeName());
        minUnsigned.ifPresent(v -> sb.append(" min ").append(Long.toUnsignedString(v)));
        maxUnsigned.ifPresent(v -> sb.append(" max ").append(Long.toUnsignedString(v)));
        minSigned.ifPresent(v -> sb.append(" min ").append(v));
        maxSigned.ifPresent(v -> sb.append(" max ").append(v));
        minLength.ifPresent(v -> sb.append(" min-length ").append(Integer.toUnsignedString(v)));
        maxLength.ifPresent(v -> sb.append(" max-length ").append(Integer.toUnsignedString(v)));
        mask.ifPresent(v -> sb.append(" mask 0x").append(Long.toHexString(v)));
        bitfield32Mask.ifPresent(v -> sb.append(" bitfield32-mask 0x").append(Integer.toHexString(v)));
        return sb.toString();
    }
}
