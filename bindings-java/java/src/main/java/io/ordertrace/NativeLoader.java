package io.ordertrace;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the native library once: from the path in the system property {@code ordertrace.native.path}
 * when set, otherwise from the copy packed in this jar under {@code native/<os>-<arch>/}.
 */
final class NativeLoader {
    /** System property naming another copy of libordertrace_jni to load. */
    static final String PATH_PROPERTY = "ordertrace.native.path";

    private static boolean loaded;

    private NativeLoader() {}

    static synchronized void load() {
        if (loaded) {
            return;
        }
        String explicit = System.getProperty(PATH_PROPERTY);
        if (explicit != null && !explicit.isEmpty()) {
            System.load(Path.of(explicit).toAbsolutePath().toString());
        } else {
            System.load(extract().toString());
        }
        loaded = true;
    }

    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("win") ? "windows" : os;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("aarch64") ? "aarch64" : arch;
        return o + "-" + a;
    }

    private static Path extract() {
        String name = System.mapLibraryName("ordertrace_jni");
        String resource = "/native/" + platform() + "/" + name;
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new OrderTraceException(OrderTraceException.NATIVE_LIBRARY,
                        "this jar has no native library for " + platform() + " (looked for " + resource
                                + "); set -D" + PATH_PROPERTY + "=/path/to/" + name);
            }
            Path dir = Files.createTempDirectory("ordertrace-native");
            Path file = dir.resolve(name);
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            file.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new OrderTraceException(OrderTraceException.NATIVE_LIBRARY,
                    "cannot extract the native library " + resource + ": " + e.getMessage());
        }
    }
}
