package io.ordertrace;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Length-prefixed UTF-8 fields, the argument format of the native calls (see ordertrace-jni's frames.rs). */
final class Frames {
    // A plain growable array: ByteArrayOutputStream synchronizes every write, which cost more
    // than the rest of a stage start.
    private byte[] buf = new byte[256];
    private int len;

    Frames add(String field) {
        return add(field == null ? new byte[0] : field.getBytes(StandardCharsets.UTF_8));
    }

    Frames add(long number) {
        return add(Long.toString(number));
    }

    Frames add(byte[] field) {
        int need = len + 4 + field.length;
        if (need > buf.length) {
            buf = java.util.Arrays.copyOf(buf, Math.max(need, buf.length * 2));
        }
        buf[len] = (byte) (field.length >>> 24);
        buf[len + 1] = (byte) (field.length >>> 16);
        buf[len + 2] = (byte) (field.length >>> 8);
        buf[len + 3] = (byte) field.length;
        System.arraycopy(field, 0, buf, len + 4, field.length);
        len = need;
        return this;
    }

    byte[] bytes() {
        return java.util.Arrays.copyOf(buf, len);
    }

    static List<String> split(byte[] bytes) {
        List<String> fields = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.remaining() >= 4) {
            int len = b.getInt();
            byte[] field = new byte[len];
            b.get(field);
            fields.add(new String(field, StandardCharsets.UTF_8));
        }
        return fields;
    }
}
