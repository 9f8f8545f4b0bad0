package io.ordertrace.example;

import io.ordertrace.OrderTracer;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.web.client.RestClient;

/** A CRM that confirms orders inside ordertrace stages and asks the MES for a price. */
@SpringBootApplication
public class CrmApplication {
    public static void main(String[] args) {
        SpringApplication.run(CrmApplication.class, args);
    }

    /** One tracer for the service: OTEL_* / ORDERTRACE_* from the environment, service crm-api. Closed with the context. */
    @Bean(destroyMethod = "close")
    OrderTracer orderTracer() {
        return OrderTracer.builder().serviceName("crm-api").build();
    }

    @Bean
    RestClient restClient(RestClient.Builder builder) {
        return builder.build();
    }
}
