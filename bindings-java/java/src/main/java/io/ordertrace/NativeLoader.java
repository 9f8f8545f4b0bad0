package io.ordertrace;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads the native library once: from the path in the system property {@code ordertrace.native.path}
 * when set, otherwise from the copy packed in this jar under {@code native/<os>-<arch>/}, chosen by
 * {@code os.name} and {@code os.arch}. The released jar carries linux-x86_64, linux-aarch64 and
 * windows-x86_64. When nothing loads, an {@link OrderTraceException} ({@code NATIVE_LIBRARY}) names
 * the platform and every path tried, with the reason each failed.
 */
final class NativeLoader {
    /** System property naming another copy of libordertrace_jni to load. */
    static final String PATH_PROPERTY = "ordertrace.native.path";

    /** Platforms a released jar carries (the keys of {@link #platform()}). */
    static final List<String> RELEASED_PLATFORMS = List.of("linux-x86_64", "linux-aarch64", "windows-x86_64");

    private static boolean loaded;

    private NativeLoader() {}

    static synchronized void load() {
        if (loaded) {
            return;
        }
        List<String> tried = new ArrayList<>();
        String explicit = System.getProperty(PATH_PROPERTY);
        if (explicit != null && !explicit.isEmpty()) {
            // An explicit path that fails is an error: falling back would hide the mistake.
            Path path = Path.of(explicit).toAbsolutePath();
            if (!tryLoad(path, "-D" + PATH_PROPERTY + "=" + path, tried)) {
                throw notLoaded(tried);
            }
        } else {
            String resource = resourceName(platform());
            Path extracted = extract(resource, tried);
            if (extracted == null || !tryLoad(extracted, "jar resource " + resource + " (extracted to " + extracted + ")", tried)) {
                throw notLoaded(tried);
            }
        }
        loaded = true;
    }

    /** The jar's folder for this JVM: {@code <os>-<arch>}, e.g. linux-x86_64, windows-x86_64, linux-aarch64. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("win") ? "windows" : os;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64"
                : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : arch;
        return o + "-" + a;
    }

    /** The library's file name on {@code platform}. */
    static String libraryFile(String platform) {
        return platform.startsWith("windows-") ? "ordertrace_jni.dll"
                : platform.startsWith("macos-") ? "libordertrace_jni.dylib" : "libordertrace_jni.so";
    }

    /** Where the jar packs the library of {@code platform}. */
    static String resourceName(String platform) {
        return "/native/" + platform + "/" + libraryFile(platform);
    }

    private static boolean tryLoad(Path file, String what, List<String> tried) {
        try {
            System.load(file.toString());
            return true;
        } catch (UnsatisfiedLinkError e) {
            tried.add(what + ": " + e.getMessage());
            return false;
        }
    }

    private static Path extract(String resource, List<String> tried) {
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                tried.add("jar resource " + resource + ": not in this jar");
                return null;
            }
            Path dir = Files.createTempDirectory("ordertrace-native");
            Path file = dir.resolve(libraryFile(platform()));
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            file.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            tried.add("jar resource " + resource + ": cannot extract it to a temporary folder: " + e.getMessage());
            return null;
        }
    }

    private static OrderTraceException notLoaded(List<String> tried) {
        List<String> packed = new ArrayList<>();
        for (String p : RELEASED_PLATFORMS) {
            if (NativeLoader.class.getResource(resourceName(p)) != null) {
                packed.add(p);
            }
        }
        return new OrderTraceException(OrderTraceException.NATIVE_LIBRARY,
                "cannot load the ordertrace native library on os.name=" + System.getProperty("os.name")
                        + ", os.arch=" + System.getProperty("os.arch") + " (platform " + platform() + "); tried: "
                        + String.join("; ", tried) + ". This jar carries "
                        + (packed.isEmpty() ? "no native library" : String.join(", ", packed))
                        + ". Set -D" + PATH_PROPERTY + "=/path/to/" + libraryFile(platform()) + " to load a copy built for this platform.");
    }
}
