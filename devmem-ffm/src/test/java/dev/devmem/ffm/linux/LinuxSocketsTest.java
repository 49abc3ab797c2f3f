package dev.devmem.ffm.linux;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;

class LinuxSocketsTest {

    private static String show(String ip, int port) throws Exception {
        return LinuxSockets.describe(new InetSocketAddress(InetAddress.getByName(ip), port));
    }

    @Test
    void addressesInMessagesAreInTheirUsualShortForm() throws Exception {
        assertThat(show("127.0.0.1", 80)).isEqualTo("127.0.0.1:80");
        assertThat(show("::1", 80)).isEqualTo("[::1]:80");
        assertThat(show("::", 1)).isEqualTo("[::]:1");
        assertThat(show("fe80:0:0:0:1:0:0:2", 9)).isEqualTo("[fe80::1:0:0:2]:9");
        assertThat(show("2001:db8:0:0:1:0:0:1", 9)).isEqualTo("[2001:db8::1:0:0:1]:9");
        assertThat(show("2001:db8:1:2:3:4:5:6", 9)).isEqualTo("[2001:db8:1:2:3:4:5:6]:9");
        assertThat(show("2001:db8:0:1:2:3:4:0", 9)).isEqualTo("[2001:db8:0:1:2:3:4:0]:9");
        assertThat(show("::ffff:10.0.0.1", 9)).isEqualTo("10.0.0.1:9"); // Java maps these to IPv4
        assertThat(LinuxSockets.describe(null)).isEqualTo("?");
    }
}
