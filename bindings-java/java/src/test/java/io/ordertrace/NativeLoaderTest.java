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

    /** Exit code and output of {@link LoaderProbe} in a fresh JVM. */
    private record Probe(int exit, String out) {}

    private static Probe probe(String... jvmOptions) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("-cp", "target/classes" + java.io.File.pathSeparator + "target/test-classes", LoaderProbe.class.getName()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return new Probe(child.waitFor(), out);
    }

    private static String loadedLibrary(String... jvmOptions) throws IOException, InterruptedException {
        Probe p = probe(jvmOptions);
        assertEquals(0, p.exit(), p.out());
        return p.out();
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

    @Test
    void aPlatformTheJarDoesNotCarryIsAnOrderTraceExceptionNamingItAndThePathTried() throws Exception {
        Probe p = probe("-Dos.arch=sparcv9");
        assertTrue(p.exit() != 0, p.out());
        assertTrue(p.out().contains("io.ordertrace.OrderTraceException: cannot load the ordertrace native library on os.name=Linux, os.arch=sparcv9 (platform linux-sparcv9)"), p.out());
        assertTrue(p.out().contains("tried: jar resource /native/linux-sparcv9/libordertrace_jni.so: not in this jar"), p.out());
        assertTrue(p.out().contains("This jar carries linux-x86_64"), p.out());
        assertTrue(!p.out().contains("UnsatisfiedLinkError"), p.out());
    }

    @Test
    void anExplicitPathThatIsNoLibraryIsAnOrderTraceExceptionNamingThePath() throws Exception {
        Path notALibrary = Files.writeString(dir.resolve("libordertrace_jni.so"), "not an ELF file");
        Probe p = probe("-D" + NativeLoader.PATH_PROPERTY + "=" + notALibrary);
        assertTrue(p.exit() != 0, p.out());
        assertTrue(p.out().contains("io.ordertrace.OrderTraceException: cannot load the ordertrace native library"), p.out());
        assertTrue(p.out().contains("tried: -D" + NativeLoader.PATH_PROPERTY + "=" + notALibrary.toAbsolutePath() + ": "), p.out());
    }

    @Test
    void eachPlatformHasItsOwnFolderAndFileName() {
        assertEquals("/native/linux-x86_64/libordertrace_jni.so", NativeLoader.resourceName("linux-x86_64"));
        assertEquals("/native/linux-aarch64/libordertrace_jni.so", NativeLoader.resourceName("linux-aarch64"));
        assertEquals("/native/windows-x86_64/ordertrace_jni.dll", NativeLoader.resourceName("windows-x86_64"));
    }
}
