package io.ordertrace.spring;

import io.ordertrace.OrderTracer;
import java.util.function.UnaryOperator;

/** Builds the starter's tracer: properties that are set win, the rest comes from the environment. */
final class OrderTracerFactory {
    private OrderTracerFactory() {}

    static OrderTracer build(OrderTraceProperties properties, String applicationName, UnaryOperator<String> environment) {
        OrderTracer.Builder builder = OrderTracer.builder();
        String serviceName = properties.getServiceName();
        if (isBlank(serviceName) && isBlank(environment.apply("OTEL_SERVICE_NAME"))) {
            serviceName = applicationName;
        }
        if (!isBlank(serviceName)) {
            builder.serviceName(serviceName);
        }
        if (!isBlank(properties.getOtlpEndpoint())) {
            if (properties.getOtlpProtocol() == OrderTraceProperties.Protocol.GRPC) {
                builder.otlpGrpc(properties.getOtlpEndpoint());
            } else {
                builder.otlpHttp(properties.getOtlpEndpoint());
            }
        }
        if (!isBlank(properties.getFile())) {
            builder.file(properties.getFile());
        }
        if (properties.getIdentity() != null) {
            builder.propagatedIdentity(properties.getIdentity() == OrderTraceProperties.Identity.PROPAGATED);
        }
        if (properties.getHeartbeat() != null) {
            builder.heartbeat(properties.getHeartbeat());
        }
        if (properties.getStartRecords() != null) {
            builder.startRecords(properties.getStartRecords());
        }
        if (properties.getStartRecordAfter() != null) {
            builder.startRecordAfter(properties.getStartRecordAfter());
        }
        if (properties.getStrictIds() != null) {
            builder.strictIds(properties.getStrictIds());
        }
        return builder.build();
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
