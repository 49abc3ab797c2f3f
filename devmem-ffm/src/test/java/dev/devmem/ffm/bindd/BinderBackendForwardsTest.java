package dev.devmem.ffm.bindd;

import dev.devmem.api.spi.DevmemBackend;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The binder backend implements every SPI method itself: a defaulted one left to the interface
 * would silently refuse (as a wrapper's missing connectTx once refused TX) instead of reaching the
 * local backend.
 */
class BinderBackendForwardsTest {

    @Test
    void everySpiMethodIsImplemented() {
        List<String> missing = Arrays.stream(DevmemBackend.class.getMethods())
                .filter(m -> !Modifier.isStatic(m.getModifiers()))
                .filter(m -> declared(m) == null)
                .map(Method::getName).toList();
        assertThat(missing).isEmpty();
    }

    private static Method declared(Method m) {
        try {
            return BinderBackend.class.getDeclaredMethod(m.getName(), m.getParameterTypes());
        } catch (NoSuchMethodException e) {
            return null;
        }
    }
}
