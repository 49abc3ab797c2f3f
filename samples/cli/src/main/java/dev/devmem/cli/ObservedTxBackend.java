package dev.devmem.cli;

import dev.devmem.api.spi.ForwardingBackend;
import dev.devmem.api.DevmemException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.api.spi.TxCompletionSink;
import dev.devmem.api.spi.TxStats;
import dev.devmem.api.spi.Pollable;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A backend that lets {@code devmem send} see what the {@link dev.devmem.reactor.DevmemSender} it
 * drives is doing: the TX binding it got (its id, and whether it is the copy fallback), and the TX
 * socket, whose own counters ({@link DevmemTxSocket#stats()}) and ledger feed the summary. The socket
 * is handed to the sender wrapped in {@link Socket}, which only reads the ledger's outstanding bytes
 * after each send to keep their maximum; every call goes to the backend's socket unchanged.
 */
final class ObservedTxBackend extends ForwardingBackend {
    private final Consumer<TxBinding> onBound;
    private final Consumer<Socket> onConnected;

    /**
     * @param onBound     called on the sender's setup thread with the binding bind-tx returned
     * @param onConnected called on the sender's setup thread with the connected socket
     */
    ObservedTxBackend(DevmemBackend delegate, Consumer<TxBinding> onBound, Consumer<Socket> onConnected) {
        super(delegate);
        this.onBound = Objects.requireNonNull(onBound, "onBound");
        this.onConnected = Objects.requireNonNull(onConnected, "onConnected");
    }

    @Override
    public TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        TxBinding b = delegate().bindTx(spec);
        onBound.accept(b);
        return b;
    }

    @Override
    public DevmemTxSocket connectTx(InetSocketAddress remote, TxBinding binding) throws DevmemException {
        DevmemTxSocket s = delegate().connectTx(remote, binding);
        Socket observed = new Socket(s);
        onConnected.accept(observed);
        return observed;
    }

    /**
     * The backend's TX socket, unchanged, plus the most bytes its ledger held in flight (sent, not yet
     * reported complete) right after a send: {@link #maxOutstandingBytes()}. Used by the sender's I/O
     * thread only, as the SPI says; the maximum is published for the progress line and the summary.
     */
    static final class Socket implements DevmemTxSocket {
        private final DevmemTxSocket delegate;
        private volatile long maxOutstandingBytes;

        Socket(DevmemTxSocket delegate) {
            this.delegate = delegate;
        }

        /** The most bytes in flight after any send so far (the socket's own ledger). */
        long maxOutstandingBytes() {
            return maxOutstandingBytes;
        }

        @Override
        public InetSocketAddress localAddress() {
            return delegate.localAddress();
        }

        @Override
        public InetSocketAddress remoteAddress() {
            return delegate.remoteAddress();
        }

        @Override
        public long send(TxBinding binding, long offset, long length, long tag) throws DevmemException {
            long r = delegate.send(binding, offset, length, tag);
            if (r > 0) {
                long out = delegate.outstandingBytes();
                if (out > maxOutstandingBytes) {
                    maxOutstandingBytes = out;
                }
            }
            return r;
        }

        @Override
        public int pollCompletions(TxCompletionSink sink) throws DevmemException {
            return delegate.pollCompletions(sink);
        }

        @Override
        public int outstandingSends() {
            return delegate.outstandingSends();
        }

        @Override
        public long outstandingBytes() {
            return delegate.outstandingBytes();
        }

        @Override
        public TxStats stats() {
            return delegate.stats();
        }

        @Override
        public void shutdownOutput() throws DevmemException {
            delegate.shutdownOutput();
        }

        @Override
        public void close() {
            delegate.close();
        }

        /** The waiter polls the backend's own socket. */
        @Override
        public Pollable pollTarget() {
            return delegate.pollTarget();
        }

        @Override
        public String toString() {
            return delegate.toString();
        }
    }
}
