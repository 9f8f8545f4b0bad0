package io.ordertrace.starterit;

import io.ordertrace.OrderEvent;
import io.ordertrace.spring.OrderStages;
import org.springframework.amqp.core.Queue;
import org.springframework.amqp.rabbit.annotation.RabbitListener;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.handler.annotation.Header;
import org.springframework.stereotype.Component;
import org.springframework.web.client.RestClient;

/** Takes confirmed orders from RabbitMQ and asks the MES (here: this service's own endpoint) for a price. */
@Component
public class Production {
    private final OrderStages stages;
    private final Seen seen;
    private final RestClient.Builder http;
    private final WebServerApplicationContext server;

    public Production(OrderStages stages, Seen seen, RestClient.Builder http, WebServerApplicationContext server) {
        this.stages = stages;
        this.seen = seen;
        this.http = http;
        this.server = server;
    }

    @RabbitListener(queues = "${it.queue}")
    public void onConfirmed(String orderId, @Header(name = "traceparent", required = false) String traceparent,
            @Header(name = "baggage", required = false) String baggage) {
        seen.record(orderId, "message.traceparent", traceparent);
        seen.record(orderId, "message.baggage", baggage);
        String price = stages.inStage(stages.stage(OrderEvent.ORDER_STATUS_CHANGED, orderId)
                .statusChange("confirmed", "in_production").consumer()
                .attribute("messaging.system", "rabbitmq"), stage -> http.build().post()
                        .uri("http://127.0.0.1:" + server.getWebServer().getPort() + "/mes/orders/{id}/price", orderId)
                        .retrieve().body(String.class));
        seen.record(orderId, "price", price);
    }

    /** The queue, declared on startup. */
    @Configuration(proxyBeanMethods = false)
    static class Queues {
        @Bean
        Queue confirmedOrders(@Value("${it.queue}") String queue) {
            return new Queue(queue, false, false, true);
        }
    }
}
