package dev.devmem.cli;

import dev.devmem.api.spi.ForwardingBackend;
import dev.devmem.api.spi.DevmemBackend;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every SPI method, the defaulted ones included, reaches the wrapped backend: a method the SPI gains
 * later and the wrapper does not forward fails here, instead of silently running the SPI's default
 * (for {@code connectTx}, a refusal) in the command's observers.
 */
class ForwardingBackendTest {

    @Test
    void everyBackendMethodIsForwarded() throws Exception {
        List<String> seen = new ArrayList<>();
        DevmemBackend recorder = (DevmemBackend) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {DevmemBackend.class}, (proxy, m, args) -> {
                    seen.add(m.getName());
                    return m.getReturnType() == boolean.class ? false : null;
                });
        DevmemBackend forwarding = new ForwardingBackend(recorder) {
        };
        List<String> expected = new ArrayList<>();
        for (Method m : DevmemBackend.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            expected.add(m.getName());
            Object[] args = Arrays.stream(m.getParameterTypes()).map(t -> t == int.class ? (Object) 0 : null).toArray();
            m.invoke(forwarding, args);
        }
        assertThat(expected).contains("connectTx", "bindRx", "bindTx", "listen", "connect", "newIoWaiter");
        assertThat(seen).containsExactlyElementsOf(expected);
    }
}
