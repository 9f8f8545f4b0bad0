package io.ordertrace.flow;

import io.ordertrace.OrderEvent;
import io.ordertrace.spring.OrderStages;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.amqp.core.Queue;
import org.springframework.amqp.rabbit.annotation.RabbitListener;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.http.ResponseEntity;
import org.springframework.web.client.RestClient;

/**
 * The CRM of the order-flow example, a Spring Boot service wired by
 * ordertrace-spring-boot-starter: consumes orders from RabbitMQ (the message's trace headers are
 * the current context, by the starter), confirms them ({@code order_confirmed}), moves them to
 * production ({@code order_status_changed}) asking the MES over RestClient to price and
 * manufacture them (the request carries the stage, by the starter), and ships them
 * ({@code order_shipped}). Env: AMQP_HOST/AMQP_PORT, MES_URL, and the OTEL_* / ORDERTRACE_* variables.
 */
@SpringBootApplication
public class Crm {
    static final String QUEUE = "orders.new";
    private static final Pattern FIELD = Pattern.compile("\"(order_id|user_id)\"\\s*:\\s*\"([^\"]*)\"");

    private final OrderStages stages;
    private final RestClient mes;
    private final String mesUrl;

    public Crm(OrderStages stages, RestClient.Builder http, @Value("${crm.mes-url}") String mesUrl) {
        this.stages = stages;
        this.mes = http.build();
        this.mesUrl = mesUrl;
    }

    public static void main(String[] args) {
        SpringApplication.run(Crm.class, args);
    }

    /** The queue the shop publishes to (declared the same way there). */
    @Bean
    Queue ordersNew() {
        return new Queue(QUEUE, true);
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        System.err.println("crm: consuming " + QUEUE + ", MES at " + mesUrl);
    }

    @RabbitListener(queues = QUEUE)
    public void onOrder(String body) {
        String orderId = null;
        String userId = null;
        Matcher m = FIELD.matcher(body);
        while (m.find()) {
            if (m.group(1).equals("order_id")) {
                orderId = m.group(2);
            } else {
                userId = m.group(2);
            }
        }
        if (orderId == null) {
            System.err.println("crm: message without order_id: " + body);
            return;
        }
        try {
            confirm(orderId, userId);
        } catch (RuntimeException e) {
            // Recorded on the stage already; the message is not redelivered.
            System.err.println("crm: " + orderId + ": " + e);
        }
    }

    private void confirm(String orderId, String userId) {
        stages.inStage(stages.stage(OrderEvent.ORDER_CONFIRMED, orderId).userId(userId).consumer()
                .attribute("messaging.system", "rabbitmq").attribute("messaging.destination.name", QUEUE)
                .attribute("messaging.operation.type", "process"), confirmed -> {
                    confirmed.setAttribute("crm.channel", "web");
                    return stages.inStage(stages.stage(OrderEvent.ORDER_STATUS_CHANGED, orderId).userId(userId)
                            .statusChange("confirmed", "in_production").client(), status -> {
                                ResponseEntity<String> answer = mes.post()
                                        .uri(mesUrl + "/orders/{id}/process?user={user}", orderId, userId)
                                        .retrieve().onStatus(code -> true, (request, response) -> { })
                                        .toEntity(String.class);
                                if (answer.getStatusCode().value() != 200) {
                                    System.err.println("crm: MES answered " + answer.getStatusCode().value() + " for "
                                            + orderId + ": " + answer.getBody());
                                    status.recordError(new IllegalStateException(
                                            "MES answered " + answer.getStatusCode().value() + ": " + answer.getBody()));
                                    return null;
                                }
                                return stages.inStage(stages.stage(OrderEvent.ORDER_SHIPPED, orderId).userId(userId),
                                        shipped -> {
                                            shipped.setAttribute("crm.carrier", "dhl");
                                            return null;
                                        });
                            });
                });
    }
}
