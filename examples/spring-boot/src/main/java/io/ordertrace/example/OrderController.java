package io.ordertrace.example;

import io.ordertrace.OrderEvent;
import io.ordertrace.OrderTracer;
import io.ordertrace.StageSpan;
import java.util.Map;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

/** POST /orders/{id}/confirm: confirms the order and asks the MES for its price, all in the order's trace. */
@RestController
public class OrderController {
    private final OrderTracer tracer;
    private final RestClient http;
    private final Environment env;

    OrderController(OrderTracer tracer, RestClient http, Environment env) {
        this.tracer = tracer;
        this.http = http;
        this.env = env;
    }

    /**
     * The business call runs whatever the ids are: a missing or malformed {@code X-User-Id}
     * ({@code 42}) leaves the stages without {@code user.id} and records the problem on them
     * ({@code ordertrace.problem}); only a tracer built with strict ids refuses it.
     */
    @PostMapping("/orders/{orderId}/confirm")
    Map<String, Object> confirm(@PathVariable String orderId,
            @RequestHeader(name = "X-User-Id", required = false) String userId,
            @RequestHeader Map<String, String> headers) {
        try (StageSpan confirmed = tracer.stage(OrderEvent.ORDER_CONFIRMED, orderId).userId(userId).parent(headers).server().start()) {
            confirmed.setAttribute("crm.channel", "web");
            try (StageSpan status = tracer.stage(OrderEvent.ORDER_STATUS_CHANGED, orderId).userId(userId)
                    .parent(confirmed.headers()).statusChange("confirmed", "pricing").client().start()) {
                try {
                    // Read per request: it may name this server's own port, known only once it runs.
                    String mesUrl = env.getRequiredProperty("mes.url");
                    String price = http.post().uri(mesUrl + "/orders/{id}/price", orderId)
                            .headers(h -> status.headers().forEach(h::set))
                            .retrieve().body(String.class);
                    return Map.of("orderId", orderId, "status", "pricing", "price", price == null ? "" : price,
                            "traceId", confirmed.traceId());
                } catch (RuntimeException e) {
                    // The MES call failed: both stages carry the exception with its stack trace.
                    status.recordError(e);
                    confirmed.recordError(e);
                    throw e;
                }
            }
        }
    }
}
