package io.ordertrace.example;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ordertrace.OrderTracer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class OrderControllerTest {
    static final Path SPANS;
    static final AtomicReference<String> MES_TRACEPARENT = new AtomicReference<>();

    static {
        try {
            SPANS = Files.createTempDirectory("crm-example").resolve("spans.jsonl");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stands in for the MES price endpoint, in the same app, and keeps the headers it got. */
    @RestController
    static class MesStub {
        @PostMapping("/orders/{orderId}/price")
        String price(@PathVariable String orderId, @RequestHeader("traceparent") String traceparent) {
            if (orderId.startsWith("ORD-DOWN")) {
                throw new ResponseStatusException(HttpStatus.SERVICE_UNAVAILABLE, "pricing is down");
            }
            MES_TRACEPARENT.set(traceparent);
            return "249.90 EUR";
        }
    }

    @TestConfiguration
    static class FileTracer {
        @Bean(destroyMethod = "close")
        @Primary
        OrderTracer testTracer() {
            return OrderTracer.builder().readEnvironment(false).serviceName("crm-api").file(SPANS.toString())
                    .startRecords(false).build();
        }

        @Bean
        MesStub mesStub() {
            return new MesStub();
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    TestRestTemplate rest;

    @Autowired
    OrderTracer tracer;

    @DynamicPropertySource
    static void mesUrl(DynamicPropertyRegistry registry) {
        registry.add("mes.url", () -> "http://127.0.0.1:${local.server.port}");
    }

    @Test
    void confirmRunsInsideStagesAndPropagatesToTheMes() throws Exception {
        HttpHeaders headers = new HttpHeaders();
        headers.set("X-User-Id", "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        @SuppressWarnings("unchecked")
        Map<String, Object> body = rest.postForObject("http://127.0.0.1:" + port + "/orders/ORD-42/confirm",
                new HttpEntity<>(headers), Map.class);
        assertThat(body).containsEntry("price", "249.90 EUR");
        String traceId = (String) body.get("traceId");
        assertThat(MES_TRACEPARENT.get()).startsWith("00-" + traceId + "-");

        tracer.flush(java.time.Duration.ofSeconds(5));
        String spans = OrderTracer.readSpansJson(SPANS.toString());
        assertThat(spans).contains("\"name\":\"order_confirmed\"").contains("\"name\":\"order_status_changed\"")
                .contains("\"crm.channel\":\"web\"");
        String statusSpan = MES_TRACEPARENT.get().substring(36, 52);
        assertThat(spans).contains("\"span_id\":\"" + statusSpan + "\"");
    }

    @Test
    void aFailedMesCallIsRecordedOnBothStagesWithTheJavaStackTrace() throws Exception {
        HttpHeaders headers = new HttpHeaders();
        headers.set("X-User-Id", "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        ResponseEntity<String> response = rest.postForEntity("http://127.0.0.1:" + port + "/orders/ORD-DOWN-1/confirm",
                new HttpEntity<>(headers), String.class);
        assertThat(response.getStatusCode().is5xxServerError()).isTrue();

        tracer.flush(java.time.Duration.ofSeconds(5));
        int failed = 0;
        for (JsonNode span : new ObjectMapper().readTree(OrderTracer.readSpansJson(SPANS.toString()))) {
            if (!span.get("attributes").path("order.id").asText().equals("ORD-DOWN-1")) {
                continue;
            }
            assertThat(span.get("status").asText()).isEqualTo("error");
            JsonNode exception = span.get("events").get(0).get("attributes");
            assertThat(exception.get("exception.type").asText()).contains("HttpServerErrorException");
            assertThat(exception.get("exception.stacktrace").asText()).contains("OrderController.confirm");
            failed++;
        }
        assertThat(failed).as("order_confirmed and order_status_changed of ORD-DOWN-1").isEqualTo(2);
    }

    /** Confirms ORD-{suffix} with this X-User-Id header (null: none) and returns the answer's body. */
    private Map<String, Object> confirmAs(String orderId, String userId) {
        HttpHeaders headers = new HttpHeaders();
        if (userId != null) {
            headers.set("X-User-Id", userId);
        }
        ResponseEntity<Map> response = rest.postForEntity("http://127.0.0.1:" + port + "/orders/" + orderId + "/confirm",
                new HttpEntity<>(headers), Map.class);
        assertThat(response.getStatusCode()).as("X-User-Id %s", userId).isEqualTo(HttpStatus.OK);
        @SuppressWarnings("unchecked")
        Map<String, Object> body = response.getBody();
        return body;
    }

    @Test
    void confirmAnswersTheSameWithAGoodABadAndNoUserId() throws Exception {
        for (String[] call : new String[][] {{"ORD-U1", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}, {"ORD-U2", "42"},
                {"ORD-U3", "12345"}, {"ORD-U4", null}}) {
            Map<String, Object> body = confirmAs(call[0], call[1]);
            assertThat(body).containsEntry("price", "249.90 EUR").containsEntry("status", "pricing")
                    .containsEntry("orderId", call[0]);
        }
        tracer.flush(java.time.Duration.ofSeconds(5));
        int withProblem = 0;
        for (JsonNode span : new ObjectMapper().readTree(OrderTracer.readSpansJson(SPANS.toString()))) {
            String order = span.get("attributes").path("order.id").asText();
            if (order.equals("ORD-U2") || order.equals("ORD-U3")) {
                assertThat(span.get("attributes").path("ordertrace.id_rejected").asText()).isEqualTo("user.id");
                assertThat(span.get("attributes").has("user.id")).isFalse();
                withProblem++;
            }
            if (order.equals("ORD-U1") || order.equals("ORD-U4")) {
                assertThat(span.get("attributes").has("ordertrace.problem")).as("%s", span).isFalse();
            }
        }
        assertThat(withProblem).as("both stages of ORD-U2 and ORD-U3").isEqualTo(4);
        assertThat(tracer.counters().idsRejected()).isGreaterThanOrEqualTo(4);
    }
}
