package io.ordertrace.starterit;

import io.ordertrace.spring.OrderStages;
import java.time.Duration;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** The HTTP side. */
@RestController
public class OrdersController {
    private final Confirmations confirmations;
    private final Pricing pricing;
    private final Seen seen;
    private final OrderStages stages;

    public OrdersController(Confirmations confirmations, Pricing pricing, Seen seen, OrderStages stages) {
        this.confirmations = confirmations;
        this.pricing = pricing;
        this.seen = seen;
        this.stages = stages;
    }

    @PostMapping("/orders/{id}/confirm")
    @ResponseStatus(HttpStatus.ACCEPTED)
    public Map<String, String> confirm(@PathVariable String id, @RequestParam String user) {
        confirmations.confirm(id, user);
        return Map.of("order_id", id);
    }

    @PostMapping("/mes/orders/{id}/price")
    public String price(@PathVariable String id, @RequestHeader(name = "traceparent", required = false) String traceparent,
            @RequestHeader(name = "baggage", required = false) String baggage) {
        seen.record(id, "price.traceparent", traceparent);
        seen.record(id, "price.baggage", baggage);
        return pricing.price(id);
    }

    @GetMapping("/seen/{id}")
    public Map<String, String> seen(@PathVariable String id) {
        return seen.of(id);
    }

    @PostMapping("/flush")
    public Map<String, Boolean> flush() {
        stages.tracer().flush(Duration.ofSeconds(10));
        return Map.of("flushed", true);
    }
}
