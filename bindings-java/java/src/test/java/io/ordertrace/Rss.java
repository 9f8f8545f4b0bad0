package io.ordertrace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

final class Rss {
    private Rss() {}

    /** Resident set size of this process in KiB, from /proc/self/status. */
    static long kib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
