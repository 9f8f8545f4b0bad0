package example;

import io.ordertrace.OrderEvent;
import io.ordertrace.OrderTracer;
import io.ordertrace.StageSpan;
import java.time.Duration;

/** One traced stage: the CRM confirms an order. Prints its trace id. */
public final class ConfirmOrder {
    private ConfirmOrder() {}

    public static void main(String[] args) {
        String orderId = args.length > 0 ? args[0] : "ORD-5678";
        try (OrderTracer tracer = OrderTracer.builder().serviceName("crm-api").build()) {
            try (StageSpan confirmed = tracer.stage(OrderEvent.ORDER_CONFIRMED, orderId)
                    .userId("1b4e28ba-2fa1-11d2-883f-0016d3cca427").start()) {
                System.out.println("order " + orderId + " confirmed in trace " + confirmed.traceId());
            }
            tracer.flush(Duration.ofSeconds(5));
        }
    }
}
