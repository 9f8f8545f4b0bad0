package io.ordertrace;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * A native handle released exactly once, by close() or by the Cleaner when its owner becomes
 * unreachable. It must not refer to its owner, or the Cleaner would never run.
 */
final class NativeHandle implements Runnable {
    private final AtomicLong handle;
    private final LongConsumer release;

    NativeHandle(long handle, LongConsumer release) {
        this.handle = new AtomicLong(handle);
        this.release = release;
    }

    /** The handle, or 0 once released. */
    long get() {
        return handle.get();
    }

    @Override
    public void run() {
        long h = handle.getAndSet(0);
        if (h != 0) {
            release.accept(h);
        }
    }
}
