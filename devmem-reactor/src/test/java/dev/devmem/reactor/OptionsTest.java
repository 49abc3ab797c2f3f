package dev.devmem.reactor;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The option setters' refusals, word for word: callers match on these messages, and the receiver and
 * the sender must refuse the options they share in the same words.
 */
class OptionsTest {

    private final FakeBackend backend = new FakeBackend();
    private final DevmemReceiver receiver = DevmemReceiver.create(backend);
    private final DevmemSender sender = DevmemSender.create(backend);

    @Test
    void receiverRefusals() {
        assertThatThrownBy(() -> receiver.interfaceName(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("interfaceName");
        assertThatThrownBy(() -> receiver.interfaceName(" "))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("interfaceName is blank");
        assertThatThrownBy(() -> receiver.rxQueues(new Integer[0]))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("at least one rx queue");
        assertThatThrownBy(() -> receiver.fragSize(0))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("fragSize must be >= 1, was 0");
        assertThatThrownBy(() -> receiver.tokenBudget(-3))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("tokenBudget must be >= 1, was -3");
        assertThatThrownBy(() -> receiver.batchSize(65537))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("batchSize must be in [1, 65536], was 65537");
        assertThatThrownBy(() -> receiver.ioThreads(0))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("ioThreads must be >= 1, was 0");
        assertThatThrownBy(() -> receiver.connectionTokenLimit(0))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("connectionTokenLimit must be >= 1, was 0");
        assertThatThrownBy(() -> receiver.backlog(0))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("backlog must be >= 1, was 0");
        assertThatThrownBy(() -> receiver.releaseFlushDelay(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("delay");
        assertThatThrownBy(() -> receiver.releaseFlushDelay(Duration.ofMillis(-1)))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("releaseFlushDelay is negative");
        assertThatThrownBy(() -> receiver.closeGracePeriod(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("grace");
        assertThatThrownBy(() -> receiver.closeGracePeriod(Duration.ofMillis(-1)))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("closeGracePeriod is negative");
        assertThatThrownBy(() -> receiver.loops(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("loops");
        assertThatThrownBy(() -> receiver.meterRegistry(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("registry");
        assertThatThrownBy(() -> receiver.timer(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("timer");
    }

    @Test
    void senderRefusals() {
        assertThatThrownBy(() -> sender.interfaceName(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("interfaceName");
        assertThatThrownBy(() -> sender.interfaceName(""))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("interfaceName is blank");
        assertThatThrownBy(() -> sender.maxInFlightBytes(0))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxInFlightBytes must be >= 1, was 0");
        assertThatThrownBy(() -> sender.ioThreads(-1))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("ioThreads must be >= 1, was -1");
        assertThatThrownBy(() -> sender.closeGracePeriod(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("grace");
        assertThatThrownBy(() -> sender.closeGracePeriod(Duration.ofSeconds(-1)))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("closeGracePeriod is negative");
        assertThatThrownBy(() -> sender.loops(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("loops");
        assertThatThrownBy(() -> sender.meterRegistry(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("registry");
        assertThatThrownBy(() -> sender.timer(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("timer");
    }

    @Test
    void loopsOfAnotherBackendAreRefusedAtOnce() throws Exception {
        DevmemLoops other = DevmemLoops.create(new FakeBackend(), 1);
        try {
            assertThatThrownBy(() -> receiver.loops(other))
                    .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("loops of another backend");
            assertThatThrownBy(() -> sender.loops(other))
                    .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("loops of another backend");
        } finally {
            other.dispose();
        }
    }

    @Test
    void loopsNeedAThread() {
        assertThatThrownBy(() -> DevmemLoops.create(backend, 0))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("threads must be >= 1, was 0");
        assertThatThrownBy(() -> DevmemLoops.create(null, 1))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("backend");
    }

    @Test
    void acceptedValuesAreKept() {
        DevmemReceiver r = receiver.interfaceName("eth1").ioThreads(3).closeGracePeriod(Duration.ZERO)
                .releaseFlushDelay(Duration.ZERO).fragSize(1).tokenBudget(1).backlog(1);
        assertThat(r.interfaceName()).isEqualTo("eth1");
        assertThat(r.ioThreads()).isEqualTo(3);
        assertThat(r.closeGracePeriod()).isZero();
        assertThat(r.releaseFlushDelay()).isZero();
        assertThat(r.fragSize()).isEqualTo(1);
        assertThat(r.tokenBudget()).isEqualTo(1);
        assertThat(r.backlog()).isEqualTo(1);
        DevmemSender s = sender.interfaceName("eth1").ioThreads(2).closeGracePeriod(Duration.ZERO)
                .maxInFlightBytes(1L << 40);
        assertThat(s.interfaceName()).isEqualTo("eth1");
        assertThat(s.ioThreads()).isEqualTo(2);
        assertThat(s.closeGracePeriod()).isZero();
        assertThat(s.maxInFlightBytes()).isEqualTo(1L << 40);
    }
}
