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
 *
 * <p>Calls on the stage other than closing it ({@link #use()} ... {@link #done()}) may run on
 * any thread while another closes it: one state word counts them and marks the stage closed, and
 * whoever leaves it closed with no call in flight frees it. So closing, the common case, is one
 * compare-and-set, and the span needs no monitor.
 */
final class StageRelease extends PhantomReference<StageSpan> {
    private static final ReferenceQueue<StageSpan> QUEUE = new ReferenceQueue<>();
    private static final int STRIPES = 16;
    private static final Stripe[] LISTS = new Stripe[STRIPES];
    private static final VarHandle STATE;

    static {
        for (int i = 0; i < STRIPES; i++) {
            LISTS[i] = new Stripe();
        }
        try {
            STATE = MethodHandles.lookup().findVarHandle(StageRelease.class, "state", int.class);
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

    /** The state's closed bit; the calls in flight are counted above it, in steps of USER. */
    private static final int CLOSED = 1;
    private static final int USER = 2;

    private final long handle;
    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state;
    private final Stripe stripe;
    // Guarded by stripe.
    private StageRelease prev;
    private StageRelease next;

    /** The sentinel of a stripe: never enqueued, holds no handle. */
    private StageRelease() {
        super(null, null);
        this.handle = 0;
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

    /**
     * The handle for one call on the open stage, which must be followed by {@link #done()}; 0
     * (and no {@code done()}) once the stage is closed.
     */
    long use() {
        int s;
        do {
            s = state;
            if ((s & CLOSED) != 0) {
                return 0;
            }
        } while (!STATE.compareAndSet(this, s, s + USER));
        return handle;
    }

    /** Ends a call begun by {@link #use()}; the last call after a close frees the stage. */
    void done() {
        int s = (int) STATE.getAndAdd(this, -USER) - USER;
        if (s == CLOSED) {
            free();
        }
    }

    /**
     * Closes the stage the first time (false later): frees the native stage, which ends it if still
     * open, at once, or when the last call in flight on it is done.
     */
    boolean release() {
        int s;
        do {
            s = state;
            if ((s & CLOSED) != 0) {
                return false;
            }
        } while (!STATE.compareAndSet(this, s, s | CLOSED));
        if (s == 0) {
            free();
        }
        return true;
    }

    private void free() {
        synchronized (stripe) {
            prev.next = next;
            next.prev = prev;
            prev = null;
            next = null;
        }
        NativeBridge.stageFree(handle);
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
                // stage is closed (release() marked it first): nothing to retry, and the thread
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
