package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which copy of the native library a fresh JVM loads (each case runs {@link LoaderProbe} in a child JVM). */
class NativeLoaderTest {
    @TempDir
    Path dir;

    private static final Path PACKED = Path.of("target/classes/native", NativeLoader.platform(), System.mapLibraryName("ordertrace_jni"));

    private static String loadedLibrary(String... jvmOptions) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("-cp", "target/classes" + java.io.File.pathSeparator + "target/test-classes", LoaderProbe.class.getName()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, child.waitFor(), out);
        return out;
    }

    @Test
    void theCopyPackedInTheJarIsExtractedAndLoaded() throws Exception {
        assertTrue(Files.exists(PACKED), "the build packs " + PACKED);
        String loaded = loadedLibrary();
        assertTrue(loaded.contains("/ordertrace-native") && loaded.endsWith("/libordertrace_jni.so"), loaded);
    }

    @Test
    void theSystemPropertyLoadsAnotherCopy() throws Exception {
        Path other = Files.copy(PACKED, dir.resolve("libordertrace_jni.so"));
        String loaded = loadedLibrary("-D" + NativeLoader.PATH_PROPERTY + "=" + other);
        assertEquals(other.toRealPath().toString(), loaded);
    }
}
