package io.ordertrace.starterit;

import io.ordertrace.OrderEvent;
import io.ordertrace.spring.OrderStage;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Service;

/** Confirms an order and hands it to production over RabbitMQ. */
@Service
public class Confirmations {
    private final RabbitTemplate rabbit;
    private final String queue;

    public Confirmations(RabbitTemplate rabbit, @Value("${it.queue}") String queue) {
        this.rabbit = rabbit;
        this.queue = queue;
    }

    @OrderStage(event = OrderEvent.ORDER_CONFIRMED, orderId = "#orderId", userId = "#userId", kind = OrderStage.Kind.SERVER)
    public void confirm(String orderId, String userId) {
        rabbit.convertAndSend("", queue, orderId);
    }
}
