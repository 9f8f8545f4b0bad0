package io.ordertrace;

/**
 * The core's order id and user id rules, callable before a stage is started with an id (the
 * rules are the README's "Order id and user id rules"; every binding applies the same ones).
 */
public final class OrderIds {
    private OrderIds() {}

    /**
     * Checks an order id: 1 to 128 bytes of UTF-8 without whitespace, control characters or
     * bidirectional formatting characters.
     *
     * @throws OrderTraceException INVALID_INPUT naming the rule it breaks; NULL_POINTER for null
     */
    public static void checkOrderId(String orderId) {
        NativeBridge.orderIdCheck(orderId);
    }

    /**
     * Checks a user id (a UUID, 8-4-4-4-12 hex digits in either case) and returns it as ordertrace
     * keeps it (lowercase).
     *
     * @throws OrderTraceException INVALID_INPUT when it is not a UUID; NULL_POINTER for null
     */
    public static String normalizeUserId(String userId) {
        return NativeBridge.userIdNormalize(userId);
    }
}
