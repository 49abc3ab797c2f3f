package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Two receivers in one registry are told apart by the {@code name} tag every meter carries. */
class MeterNameTest {

    @Test
    void twoReceiversInOneRegistryAreToldApartByTheirNameTag() {
        FakeBackend backend = new FakeBackend();
        FakeHarness a = new FakeHarness(backend);
        FakeHarness b = new FakeHarness(backend);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        receive(a, a.receiver().name("ingest-a").meterRegistry(meters), 3);
        receive(b, b.receiver().name("ingest-b").meterRegistry(meters), 5);
        a.awaitAllClosed();

        assertThat(frags(meters, "ingest-a")).isEqualTo(3);
        assertThat(frags(meters, "ingest-b")).isEqualTo(5);
        assertThat(meters.get("devmem.returned.frags").tag("name", "ingest-a").counter().count()).isEqualTo(3);
        assertThat(meters.get("devmem.returned.frags").tag("name", "ingest-b").counter().count()).isEqualTo(5);
        assertThat(meters.get("devmem.connections.active").tag("name", "ingest-b").gauge().value()).isZero();
        // every devmem.* meter carries the tag, and only the two names occur
        assertThat(meters.getMeters()).allSatisfy(m -> assertThat(m.getId().getTag("name"))
                .as(m.getId().getName()).isIn("ingest-a", "ingest-b"));
    }

    @Test
    void theNameDefaultsToTheInterfaceThenToDefault() {
        FakeBackend backend = new FakeBackend();
        assertThat(DevmemReceiver.create(backend).name()).isEqualTo(DevmemReceiver.Defaults.NAME).isEqualTo("default");
        assertThat(DevmemReceiver.create(backend).interfaceName("eth1").name()).isEqualTo("eth1");
        assertThat(DevmemReceiver.create(backend).interfaceName("eth1").name("n").name()).isEqualTo("n");
        assertThat(DevmemSender.create(backend).name()).isEqualTo(DevmemSender.Defaults.NAME).isEqualTo("default");
        assertThat(DevmemSender.create(backend).name("out").interfaceName("eth1").name()).isEqualTo("out");
        assertThatThrownBy(() -> DevmemReceiver.create(backend).name(" "))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("name is blank");
        assertThatThrownBy(() -> DevmemSender.create(backend).name(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("name");
    }

    private static double frags(SimpleMeterRegistry meters, String name) {
        return meters.get("devmem.received.frags").tags("name", name, "kind", "dmabuf").counter().count();
    }

    /** Receives {@code frags} whole frags from a peer that then closes, releasing each. */
    private static void receive(FakeHarness h, DevmemReceiver receiver, int frags) {
        AtomicReference<Throwable> failed = new AtomicReference<>();
        var done = receiver.receiveOne(h.address).doOnNext(DevmemFrag::release).count()
                .doOnError(failed::set).toFuture();
        FakeBackend.FakeSocket s = h.peer();
        s.send(frags * 4096L);
        s.shutdownPeer();
        assertThat(done.join()).isEqualTo(frags);
        h.awaitAllClosed();
    }
}
