package io.ordertrace;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Length-prefixed UTF-8 fields, the argument format of the native calls (see ordertrace-jni's frames.rs). */
final class Frames {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);

    Frames add(String field) {
        return add(field == null ? new byte[0] : field.getBytes(StandardCharsets.UTF_8));
    }

    Frames add(long number) {
        return add(Long.toString(number));
    }

    Frames add(byte[] field) {
        out.write(field.length >>> 24);
        out.write(field.length >>> 16);
        out.write(field.length >>> 8);
        out.write(field.length);
        out.write(field, 0, field.length);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
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
