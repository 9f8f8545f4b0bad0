package io.ordertrace.flow;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DeliverCallback;
import io.ordertrace.OrderEvent;
import io.ordertrace.OrderTracer;
import io.ordertrace.Propagation;
import io.ordertrace.StageSpan;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CRM of the order-flow example: consumes orders from RabbitMQ, confirms them
 * ({@code order_confirmed}), moves them to pricing ({@code order_status_changed}), asks the MES
 * over HTTP to price and manufacture them, and ships them ({@code order_shipped}).
 * Env: AMQP_HOST/AMQP_PORT, MES_URL, and the OTEL_* / ORDERTRACE_* variables.
 */
public final class Crm {
    private static final Pattern FIELD = Pattern.compile("\"(order_id|user_id)\"\\s*:\\s*\"([^\"]*)\"");

    private final OrderTracer tracer;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String mesUrl;

    Crm(OrderTracer tracer, String mesUrl) {
        this.tracer = tracer;
        this.mesUrl = mesUrl;
    }

    void handle(String body, Map<String, Object> messageHeaders) {
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
        try (StageSpan confirmed = tracer.stage(OrderEvent.ORDER_CONFIRMED, orderId).userId(userId)
                .parent(Propagation.fromMessage(messageHeaders)).consumer()
                .attribute("messaging.system", "rabbitmq").attribute("messaging.destination.name", "orders.new")
                .attribute("messaging.operation.type", "process").start()) {
            confirmed.setAttribute("crm.channel", "web");
            try (StageSpan status = tracer.stage(OrderEvent.ORDER_STATUS_CHANGED, orderId).userId(userId)
                    .parent(confirmed.headers()).statusChange("confirmed", "in_production").client().start()) {
                HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(mesUrl + "/orders/" + orderId + "/process?user=" + userId))
                        .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.noBody());
                status.headers().forEach(request::header);
                HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    System.err.println("crm: MES answered " + response.statusCode() + " for " + orderId + ": " + response.body());
                    status.recordError(new IllegalStateException("MES answered " + response.statusCode() + ": " + response.body()));
                    return;
                }
                try (StageSpan shipped = tracer.stage(OrderEvent.ORDER_SHIPPED, orderId).userId(userId)
                        .parent(status.headers()).start()) {
                    shipped.setAttribute("crm.carrier", "dhl");
                }
            }
        } catch (Exception e) {
            System.err.println("crm: " + orderId + ": " + e);
        }
    }

    public static void main(String[] args) throws Exception {
        String host = System.getenv().getOrDefault("AMQP_HOST", "127.0.0.1");
        int port = Integer.parseInt(System.getenv().getOrDefault("AMQP_PORT", "5672"));
        String mesUrl = System.getenv().getOrDefault("MES_URL", "http://127.0.0.1:18090");
        OrderTracer tracer = OrderTracer.builder().serviceName("crm-api").build();
        Crm crm = new Crm(tracer, mesUrl);
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost(host);
        factory.setPort(port);
        Connection connection = factory.newConnection();
        Channel channel = connection.createChannel();
        channel.queueDeclare("orders.new", true, false, false, null);
        // Orders are handled in parallel: one hanging MES call must not hold the others.
        ExecutorService workers = Executors.newFixedThreadPool(8);
        DeliverCallback onMessage = (tag, delivery) -> {
            String body = new String(delivery.getBody(), StandardCharsets.UTF_8);
            Map<String, Object> headers = delivery.getProperties().getHeaders();
            workers.submit(() -> crm.handle(body, headers));
        };
        channel.basicConsume("orders.new", true, onMessage, tag -> {});
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            workers.shutdown();
            tracer.close();
        }));
        System.err.println("crm: consuming orders.new from " + host + ":" + port + ", MES at " + mesUrl);
        Thread.currentThread().join();
    }
}
