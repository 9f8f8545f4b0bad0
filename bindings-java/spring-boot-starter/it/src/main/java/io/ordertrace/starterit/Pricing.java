package io.ordertrace.starterit;

import io.ordertrace.OrderEvent;
import io.ordertrace.spring.OrderStage;
import org.springframework.stereotype.Service;

/** The price of an order. */
@Service
public class Pricing {
    @OrderStage(event = OrderEvent.PRICE_CALCULATED, orderId = "#orderId", kind = OrderStage.Kind.SERVER)
    public String price(String orderId) {
        return "249.90 EUR";
    }
}
