package io.ordertrace.starterit;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A CRM-like service wired only by ordertrace-spring-boot-starter:
 * {@code POST /orders/{id}/confirm?user=} confirms the order in an {@code @OrderStage}
 * (order_confirmed) that sends it to RabbitMQ; the {@code @RabbitListener} changes its status in
 * a bean-API stage (order_status_changed) that asks {@code POST /mes/orders/{id}/price} over
 * RestClient, handled in another {@code @OrderStage} (price_calculated). {@code GET /seen/{id}}
 * tells what headers reached the listener and the price endpoint.
 */
@SpringBootApplication
public class StarterTestApplication {
    public static void main(String[] args) {
        SpringApplication.run(StarterTestApplication.class, args);
    }
}
