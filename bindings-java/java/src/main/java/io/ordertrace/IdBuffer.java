package io.ordertrace;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;

/**
 * One thread's order id and user id as ASCII bytes in native memory, where the common stage
 * start reads them ({@link NativeBridge#stageStartAscii}): the ids cross without any JNI string
 * call (each is a VM transition, and reading two ids that way was a tenth of the binding's cost,
 * BENCHMARKS.md "Issue 13: JNI binding, second pass (jni14)").
 *
 * <p>The buffer remembers which strings it holds, so the same id (the same {@code String}, or an
 * equal one) is not written again: an order's stages and a user's orders usually repeat them.
 * An id longer than {@link #MAX} chars or with a char beyond ASCII is not written; the stage
 * then takes the general path, which reads the strings themselves.
 *
 * <p>One per platform thread (a {@link ThreadLocal}); only its own thread writes it, and only
 * between the start calls that read it. Virtual threads (Java 21) get none and take the general
 * path: one is often made per request, and a direct buffer per virtual thread would cost more
 * than the string calls it saves.
 */
final class IdBuffer {
    /** The longest id held, in chars (an order id has at most 128 bytes). */
    static final int MAX = 128;
    /** Where the user id starts; the order id starts at 0. */
    static final int USER_AT = MAX;

    private static final ThreadLocal<IdBuffer> CURRENT = ThreadLocal.withInitial(IdBuffer::new);
    /** {@code Thread.isVirtual()} where the JVM has it (Java 21), else null. */
    private static final MethodHandle IS_VIRTUAL = isVirtualMethod();

    private final ByteBuffer bytes = ByteBuffer.allocateDirect(2 * MAX);
    private final long address = NativeBridge.bufferAddress(bytes);
    // The strings written now; null when that part holds nothing valid.
    private String order;
    private String user;
    private int orderLength;
    private int userLength;

    private IdBuffer() {}

    /** This thread's buffer; null on a virtual thread. */
    static IdBuffer current() {
        Thread thread = Thread.currentThread();
        return isVirtual(thread) ? null : CURRENT.get();
    }

    static boolean isVirtual(Thread thread) {
        if (IS_VIRTUAL == null) {
            return false;
        }
        try {
            return (boolean) IS_VIRTUAL.invokeExact(thread);
        } catch (Throwable e) {
            return true; // cannot tell: the general path is right for every thread
        }
    }

    private static MethodHandle isVirtualMethod() {
        try {
            return MethodHandles.publicLookup().findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /**
     * Holds {@code orderId} and {@code userId} (neither null) for the next start; false when one
     * of them is not short ASCII text (then nothing held may be used).
     */
    boolean hold(String orderId, String userId) {
        if (orderId != order && !orderId.equals(order)) {
            order = null;
            orderLength = write(orderId, 0);
            if (orderLength < 0) {
                return false;
            }
            order = orderId;
        }
        if (userId != user && !userId.equals(user)) {
            user = null;
            userLength = write(userId, USER_AT);
            if (userLength < 0) {
                return false;
            }
            user = userId;
        }
        return true;
    }

    /** The native address of the bytes: the order id at 0, the user id at {@link #USER_AT}. */
    long address() {
        return address;
    }

    /** The order id's length in bytes (its chars, all ASCII). */
    int orderLength() {
        return orderLength;
    }

    /** The user id's length in bytes. */
    int userLength() {
        return userLength;
    }

    /** Keeps the buffer's memory alive up to this point (the native call reads it by address). */
    void reachable() {
        java.lang.ref.Reference.reachabilityFence(bytes);
    }

    /** Writes {@code s} as ASCII bytes at {@code at}; its length, or -1 when it is not short ASCII. */
    private int write(String s, int at) {
        int n = s.length();
        if (n > MAX) {
            return -1;
        }
        int seen = 0;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            seen |= c;
            bytes.put(at + i, (byte) c);
        }
        return seen < 0x80 ? n : -1;
    }
}
