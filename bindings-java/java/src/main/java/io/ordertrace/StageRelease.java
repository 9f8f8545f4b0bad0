package io.ordertrace;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;

/**
 * The native stage of one {@link StageSpan}, freed exactly once: by {@code close()} /
 * {@code end()}, or, for a span dropped without either, by the release thread once the span is
 * unreachable (freeing an open stage ends it).
 *
 * <p>Why not a {@link java.lang.ref.Cleaner} registration per stage, as the tracer has: every
 * stage paid for three objects (the cleanable, a handle holder, its {@code AtomicLong}) and, on
 * close, {@code Reference.clear()}, a call into the VM. Here the reference is the handle holder,
 * and a stage closed normally is only unlinked: a reference that is itself unreachable is never
 * enqueued, so it needs no clearing. The reference must stay reachable while its span lives, so
 * open stages are kept in doubly linked lists, striped by thread to keep starts on different
 * threads off one lock.
 */
final class StageRelease extends PhantomReference<StageSpan> {
    private static final ReferenceQueue<StageSpan> QUEUE = new ReferenceQueue<>();
    private static final int STRIPES = 16;
    private static final Stripe[] LISTS = new Stripe[STRIPES];
    private static final VarHandle HANDLE;

    static {
        for (int i = 0; i < STRIPES; i++) {
            LISTS[i] = new Stripe();
        }
        try {
            HANDLE = MethodHandles.lookup().findVarHandle(StageRelease.class, "handle", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
        Thread releaser = new Thread(StageRelease::releaseDropped, "ordertrace-stage-release");
        releaser.setDaemon(true);
        releaser.start();
    }

    /** One list of registered stages, with its own lock; the head is a sentinel. */
    private static final class Stripe {
        final StageRelease head = new StageRelease();
    }

    @SuppressWarnings("unused") // accessed through HANDLE
    private volatile long handle;
    private final Stripe stripe;
    // Guarded by stripe.
    private StageRelease prev;
    private StageRelease next;

    /** The sentinel of a stripe: never enqueued, holds no handle. */
    private StageRelease() {
        super(null, null);
        this.stripe = null;
        this.prev = this;
        this.next = this;
    }

    /** Registers {@code owner}'s native stage {@code handle}; call once, from its constructor. */
    StageRelease(StageSpan owner, long handle) {
        super(owner, QUEUE);
        this.handle = handle;
        this.stripe = LISTS[(int) Thread.currentThread().getId() & (STRIPES - 1)];
        synchronized (stripe) {
            StageRelease head = stripe.head;
            next = head.next;
            prev = head;
            head.next.prev = this;
            head.next = this;
        }
    }

    /** The handle, or 0 once released. */
    long handle() {
        return handle;
    }

    /** Frees the native stage (ending it if still open) the first time; later calls do nothing. */
    void release() {
        long h = (long) HANDLE.getAndSet(this, 0L);
        if (h == 0) {
            return;
        }
        synchronized (stripe) {
            prev.next = next;
            next.prev = prev;
            prev = null;
            next = null;
        }
        NativeBridge.stageFree(h);
    }

    /** The release thread: frees the stage of every span found unreachable. */
    private static void releaseDropped() {
        while (true) {
            try {
                ((StageRelease) QUEUE.remove()).release();
            } catch (InterruptedException e) {
                // A daemon: it ends with the JVM, never on request.
            } catch (RuntimeException e) {
                // stageFree throws only for a panic while dropping the stage, after which the
                // handle is gone (release() zeroed it first): nothing to retry, and the thread
                // must keep serving the other stages.
            }
        }
    }

    /** Stages registered and not yet released, for tests. */
    static int registered() {
        int n = 0;
        for (Stripe s : LISTS) {
            synchronized (s) {
                for (StageRelease r = s.head.next; r != s.head; r = r.next) {
                    n++;
                }
            }
        }
        return n;
    }
}
