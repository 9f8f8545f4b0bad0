package io.ordertrace;

import java.nio.file.Files;
import java.nio.file.Path;

/** Run in a child JVM by {@link NativeLoaderTest}: loads the library and prints the file the process mapped. */
final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) throws Exception {
        OrderTracer.schemaJson();
        Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.endsWith("libordertrace_jni.so"))
                .map(l -> l.substring(l.indexOf('/'))).findFirst().ifPresent(System.out::println);
    }
}
