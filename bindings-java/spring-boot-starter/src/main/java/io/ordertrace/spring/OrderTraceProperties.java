package io.ordertrace.spring;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code ordertrace.*} application properties. Anything left unset comes from the standard
 * {@code OTEL_*} and {@code ORDERTRACE_*} environment variables, then the library's defaults;
 * a property that is set wins over the environment.
 */
@ConfigurationProperties(prefix = "ordertrace")
public class OrderTraceProperties {
    /** Whether the starter configures anything at all. */
    private boolean enabled = true;
    /** {@code service.name} of the stages (e.g. crm-api); default: OTEL_SERVICE_NAME, then spring.application.name. */
    private String serviceName;
    /** Where spans go over OTLP, e.g. http://127.0.0.1:4318/v1/traces (http) or http://127.0.0.1:4317 (grpc). */
    private String otlpEndpoint;
    /** The OTLP protocol of {@link #otlpEndpoint}. */
    private Protocol otlpProtocol = Protocol.HTTP;
    /** The embedded exporter's OTLP/JSON-lines file, used when no OTLP endpoint is set. */
    private String file;
    /** order_derived (default: the order's trace always wins) or propagated (an incoming trace wins). */
    private Identity identity;
    /** Heartbeat interval of open stages; 0 turns heartbeats off. */
    private Duration heartbeat;
    /** Whether a start record is exported for a stage still open after the threshold
     *  (ORDERTRACE_START_RECORD_AFTER_MS, default the heartbeat interval). */
    private Boolean startRecords;
    /** How long a stage stays open before its start record is exported; 0: at once. Default:
     *  ORDERTRACE_START_RECORD_AFTER_MS, else the heartbeat interval. */
    private Duration startRecordAfter;
    /**
     * Strict ids: a stage whose order id or user id breaks a rule throws instead of starting, so
     * the business method does not run. Default: ORDERTRACE_STRICT_IDS, else false (the stage
     * starts and records the problem).
     */
    private Boolean strictIds;

    /** OTLP protocols. */
    public enum Protocol {
        /** OTLP/HTTP with protobuf. */
        HTTP,
        /** OTLP/gRPC. */
        GRPC
    }

    /** Trace identity of a stage when the incoming trace and the order's disagree. */
    public enum Identity {
        /** The order's derived trace always wins; a foreign incoming trace becomes a span link. */
        ORDER_DERIVED,
        /** A valid incoming trace wins. */
        PROPAGATED
    }

    /** @return whether the starter is on */
    public boolean isEnabled() {
        return enabled;
    }

    /** @param enabled whether the starter is on */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** @return the service name, or null */
    public String getServiceName() {
        return serviceName;
    }

    /** @param serviceName the service name */
    public void setServiceName(String serviceName) {
        this.serviceName = serviceName;
    }

    /** @return the OTLP endpoint, or null */
    public String getOtlpEndpoint() {
        return otlpEndpoint;
    }

    /** @param otlpEndpoint the OTLP endpoint */
    public void setOtlpEndpoint(String otlpEndpoint) {
        this.otlpEndpoint = otlpEndpoint;
    }

    /** @return the OTLP protocol */
    public Protocol getOtlpProtocol() {
        return otlpProtocol;
    }

    /** @param otlpProtocol the OTLP protocol */
    public void setOtlpProtocol(Protocol otlpProtocol) {
        this.otlpProtocol = otlpProtocol;
    }

    /** @return the file, or null */
    public String getFile() {
        return file;
    }

    /** @param file the embedded exporter's file */
    public void setFile(String file) {
        this.file = file;
    }

    /** @return the identity mode, or null */
    public Identity getIdentity() {
        return identity;
    }

    /** @param identity the identity mode */
    public void setIdentity(Identity identity) {
        this.identity = identity;
    }

    /** @return the heartbeat interval, or null */
    public Duration getHeartbeat() {
        return heartbeat;
    }

    /** @param heartbeat the heartbeat interval */
    public void setHeartbeat(Duration heartbeat) {
        this.heartbeat = heartbeat;
    }

    /** @return whether start records are exported, or null */
    public Boolean getStartRecords() {
        return startRecords;
    }

    /** @param startRecords whether start records are exported */
    public void setStartRecords(Boolean startRecords) {
        this.startRecords = startRecords;
    }

    /** @return whether ids are strict, or null (the environment, else lenient) */
    public Boolean getStrictIds() {
        return strictIds;
    }

    /** @param strictIds whether a bad order id or user id throws instead of starting the stage */
    public void setStrictIds(Boolean strictIds) {
        this.strictIds = strictIds;
    }

    /** @return the start record threshold, or null */
    public Duration getStartRecordAfter() {
        return startRecordAfter;
    }

    /** @param startRecordAfter the start record threshold */
    public void setStartRecordAfter(Duration startRecordAfter) {
        this.startRecordAfter = startRecordAfter;
    }
}
