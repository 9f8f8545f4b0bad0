package io.ordertrace.starterit;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/** What each hop of an order received (headers), for the suite's checks. */
@Component
public class Seen {
    private final Map<String, Map<String, String>> byOrder = new ConcurrentHashMap<>();

    public void record(String orderId, String what, String value) {
        byOrder.computeIfAbsent(orderId, k -> new ConcurrentHashMap<>()).put(what, value == null ? "" : value);
    }

    public Map<String, String> of(String orderId) {
        return new TreeMap<>(byOrder.getOrDefault(orderId, Map.of()));
    }
}
