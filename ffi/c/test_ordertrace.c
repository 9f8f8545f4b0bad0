/* The C ABI used the way a C caller uses it: the generated header, the shared library,
 * status codes and last-error messages. Spans are checked as read back from the embedded
 * file exporter. Exits 0 when every check passed; prints each failure.
 *
 *   gcc -Wall -Wextra -Werror -I include c/test_ordertrace.c -L <dir> -lordertrace_ffi
 */
#include "ordertrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                          \
    do {                                                          \
        checks++;                                                 \
        if (!(cond)) {                                            \
            failures++;                                           \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
            fprintf(stderr, __VA_ARGS__);                         \
            fprintf(stderr, "\n");                                \
        }                                                         \
    } while (0)

static OtStr s(const char *text) {
    OtStr out = {(const uint8_t *)text, text ? strlen(text) : 0};
    return out;
}

static const char *last_error(void) {
    static char buf[1024];
    size_t n = ot_last_error_message((uint8_t *)buf, sizeof buf - 1);
    buf[n < sizeof buf - 1 ? n : sizeof buf - 1] = '\0';
    return buf;
}

static OtStageStart stage_info(const char *event, const char *order) {
    OtStageStart info;
    memset(&info, 0, sizeof info);
    info.event = s(event);
    info.order_id = s(order);
    info.kind = OT_KIND_INTERNAL;
    return info;
}

static char *read_spans(const char *path) {
    OtBuffer *buffer = NULL;
    if (ot_read_spans_json(s(path), &buffer) != OT_STATUS_OK) {
        fprintf(stderr, "cannot read spans: %s\n", last_error());
        return NULL;
    }
    OtStr text;
    ot_buffer_str(buffer, &text);
    char *copy = malloc(text.len + 1);
    memcpy(copy, text.ptr, text.len);
    copy[text.len] = '\0';
    ot_buffer_free(buffer);
    return copy;
}

/* A tracer whose OTLP endpoint refuses (a port of the counters helper's range, 28000-28099,
 * on which nothing listens) and that spools in `<file>.spool`: the spans it ends wait on disk,
 * and the counters say so. */
static void check_spool_counters(const char *file) {
    char spool_dir[1024];
    snprintf(spool_dir, sizeof spool_dir, "%s.spool", file);
    OtTracerConfig config;
    memset(&config, 0, sizeof config);
    config.service_name = s("mes-api");
    config.otlp_endpoint = s("http://127.0.0.1:28004/v1/traces");
    config.otlp_protocol = OT_PROTOCOL_HTTP_PROTOBUF;
    config.identity = OT_DEFAULT;
    config.spool_dir = s(spool_dir);
    OtTracer *tracer = NULL;
    CHECK(ot_tracer_new(&config, &tracer) == OT_STATUS_OK, "spooling tracer: %s", last_error());
    if (!tracer) return;
    for (int i = 0; i < 5; i++) {
        OtStageStart info = stage_info("order_confirmed", "ORD-SPOOL");
        CHECK(ot_stage_record(tracer, &info, s(""), s(""), s("")) == OT_STATUS_OK, "record: %s", last_error());
    }
    /* Shut down: what the endpoint refused waits on disk (a flush would wait for the endpoint). */
    CHECK(ot_tracer_shutdown(tracer, 5000) == OT_STATUS_OK, "shutdown: %s", last_error());
    OtCounters c;
    CHECK(ot_tracer_counters(tracer, &c) == OT_STATUS_OK, "spool counters");
    /* spans_spooled counts this process; the folder may still hold spans of an earlier run. */
    CHECK(c.spans_spooled == 5 && c.spool_spans >= 5 && c.spool_bytes > 0 && c.failed_exports > 0,
          "%llu spooled, %llu in the spool, %llu bytes, %llu failed exports",
          (unsigned long long)c.spans_spooled, (unsigned long long)c.spool_spans,
          (unsigned long long)c.spool_bytes, (unsigned long long)c.failed_exports);
    CHECK(c.spans_exported == 0 && c.spans_dropped == 0 && c.spans_dropped_spool_write_failed == 0,
          "%llu exported, %llu dropped", (unsigned long long)c.spans_exported,
          (unsigned long long)c.spans_dropped);
    ot_tracer_free(tracer);
}

/* strict_ids = 1: a bad id fails the start with OT_STATUS_INVALID_INPUT, and is counted. */
static void check_strict_ids(const char *file) {
    char strict_file[1024];
    snprintf(strict_file, sizeof strict_file, "%s.strict", file);
    OtTracerConfig config;
    memset(&config, 0, sizeof config);
    config.service_name = s("mes-api");
    config.file = s(strict_file);
    config.identity = OT_DEFAULT;
    config.strict_ids = 1;
    OtTracer *tracer = NULL;
    CHECK(ot_tracer_new(&config, &tracer) == OT_STATUS_OK, "strict tracer: %s", last_error());
    if (!tracer) return;
    OtStage *none = NULL;
    OtStageStart bad = stage_info("order_confirmed", "");
    CHECK(ot_stage_start(tracer, &bad, &none) == OT_STATUS_INVALID_INPUT, "strict: empty order id");
    CHECK(strstr(last_error(), "invalid order id: it is empty") != NULL, "strict message: %s", last_error());
    bad = stage_info("order_confirmed", "ORD-C2");
    bad.user_id = s("bob");
    CHECK(ot_stage_start(tracer, &bad, &none) == OT_STATUS_INVALID_INPUT, "strict: malformed user id");
    CHECK(none == NULL, "strict: no handle on failure");
    OtCounters c;
    CHECK(ot_tracer_counters(tracer, &c) == OT_STATUS_OK && c.ids_rejected == 2 && c.spans_started == 0,
          "strict: %llu ids rejected, %llu spans", (unsigned long long)c.ids_rejected,
          (unsigned long long)c.spans_started);
    ot_tracer_shutdown(tracer, 5000);
    ot_tracer_free(tracer);
    remove(strict_file);
}

int main(int argc, char **argv) {
    const char *file = argc > 1 ? argv[1] : "c-test-spans.jsonl";
    remove(file);

    OtTracerConfig config;
    memset(&config, 0, sizeof config);
    config.service_name = s("mes-api");
    config.file = s(file);
    config.otlp_protocol = OT_PROTOCOL_HTTP_PROTOBUF;
    config.start_records = 0;
    config.heartbeat_ms = 0;
    config.identity = OT_DEFAULT;
    config.read_env = 0;

    OtTracer *tracer = NULL;
    CHECK(ot_tracer_new(&config, &tracer) == OT_STATUS_OK, "tracer: %s", last_error());
    if (!tracer) return 1;

    /* A stage with an attribute, a parent from HTTP headers and a price. */
    OtHeader parent[] = {
        {s("traceparent"), s("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
        {s("baggage"), s("order.id=ORD-C1,user.id=1b4e28ba-2fa1-11d2-883f-0016d3cca427")},
    };
    OtAttribute attrs[] = {{s("mes.workcenter"), OT_ATTR_STRING, s("casting-2"), 0, 0.0}};
    OtStageStart info = stage_info("price_calculated", "ORD-C1");
    info.attributes = attrs;
    info.attribute_count = 1;
    info.parent_headers = parent;
    info.parent_header_count = 2;
    info.kind = OT_KIND_SERVER;
    OtStage *price = NULL;
    CHECK(ot_stage_start(tracer, &info, &price) == OT_STATUS_OK, "start: %s", last_error());
    CHECK(ot_stage_record_price(price, 249.9, s("EUR")) == OT_STATUS_OK, "price: %s", last_error());

    /* Outgoing headers carry this stage. */
    OtHeaders *out = NULL;
    CHECK(ot_stage_inject(price, &out) == OT_STATUS_OK, "inject: %s", last_error());
    size_t n = 0;
    ot_headers_len(out, &n);
    int saw_traceparent = 0;
    char trace_id[33] = {0}, span_id[17] = {0};
    ot_stage_ids(price, (uint8_t *)trace_id, (uint8_t *)span_id);
    for (size_t i = 0; i < n; i++) {
        OtStr k, v;
        CHECK(ot_headers_get(out, i, &k, &v) == OT_STATUS_OK, "get %zu", i);
        if (k.len == 11 && memcmp(k.ptr, "traceparent", 11) == 0) {
            saw_traceparent = 1;
            CHECK(v.len == 55 && memcmp(v.ptr + 36, span_id, 16) == 0, "traceparent names this stage");
        }
    }
    CHECK(saw_traceparent, "inject wrote a traceparent (%zu headers)", n);
    OtStr k, v;
    CHECK(ot_headers_get(out, n, &k, &v) == OT_STATUS_INVALID_INPUT, "index past the end is an error");
    ot_headers_free(out);
    CHECK(ot_stage_end(price) == OT_STATUS_OK, "end: %s", last_error());

    /* Use of a closed stage. */
    CHECK(ot_stage_end(price) == OT_STATUS_CLOSED, "second end is OT_STATUS_CLOSED");
    CHECK(strstr(last_error(), "already ended") != NULL, "closed message: %s", last_error());
    OtStatus closed = OT_STATUS_CLOSED; /* a typed status, named by the core's table */
    OtStr name = ot_status_name(closed);
    CHECK(name.len == 6 && memcmp(name.ptr, "CLOSED", 6) == 0, "ot_status_name(OT_STATUS_CLOSED) is CLOSED");
    ot_stage_free(price);

    /* A failing stage. */
    OtStageStart failing = stage_info("manufacturing_started", "ORD-C1");
    OtStage *manufacturing = NULL;
    CHECK(ot_stage_start(tracer, &failing, &manufacturing) == OT_STATUS_OK, "start: %s", last_error());
    CHECK(ot_stage_end_with_error(manufacturing, s("Mes.MachineOfflineException"), s("casting-2 is offline"),
                                  s("at Mes.Machines.Reserve()")) == OT_STATUS_OK,
          "end_with_error: %s", last_error());
    ot_stage_free(manufacturing);

    /* Bad input: each a status and a readable message, never a crash. */
    OtStage *none = NULL;
    OtStageStart bad = stage_info("order_lost", "ORD-C2");
    CHECK(ot_stage_start(tracer, &bad, &none) == OT_STATUS_UNKNOWN_EVENT, "unknown event");
    /* Bad ids (lenient, the default): the stage starts, the problem is on it and counted. */
    const uint8_t invalid_utf8[] = {'O', 0xff};
    OtStageStart bad_ids[3];
    bad_ids[0] = stage_info("order_confirmed", "");
    bad_ids[1] = stage_info("order_confirmed", "ORD-C2");
    bad_ids[1].user_id = s("bob");
    bad_ids[2] = stage_info("order_confirmed", "x");
    bad_ids[2].order_id.ptr = invalid_utf8;
    bad_ids[2].order_id.len = 2;
    for (int i = 0; i < 3; i++) {
        OtStage *lenient = NULL;
        CHECK(ot_stage_start(tracer, &bad_ids[i], &lenient) == OT_STATUS_OK && lenient != NULL,
              "bad ids %d still start a stage: %s", i, last_error());
        CHECK(ot_stage_end(lenient) == OT_STATUS_OK, "end of lenient stage %d", i);
        ot_stage_free(lenient);
    }
    check_strict_ids(file);
    bad = stage_info("order_confirmed", "ORD-C2");
    bad.order_id.ptr = NULL;
    CHECK(ot_stage_start(tracer, &bad, &none) == OT_STATUS_NULL_POINTER, "NULL order id with a length");
    CHECK(ot_stage_start(NULL, &bad, &none) == OT_STATUS_NULL_POINTER, "NULL tracer");
    CHECK(none == NULL, "no handle on failure");
    OtHeader malformed[] = {{s("traceparent"), s("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")}};
    CHECK(ot_headers_check(malformed, 1) == OT_STATUS_MALFORMED_HEADER, "uppercase traceparent is malformed");

    /* Schema. */
    OtBuffer *schema = NULL;
    CHECK(ot_schema_json(&schema) == OT_STATUS_OK, "schema");
    OtStr schema_text;
    ot_buffer_str(schema, &schema_text);
    CHECK(schema_text.len > 0 && memchr(schema_text.ptr, '{', schema_text.len) != NULL, "schema is JSON");
    ot_buffer_free(schema);

    /* Counters, shutdown, and what was actually exported. */
    CHECK(ot_tracer_shutdown(tracer, 5000) == OT_STATUS_OK, "shutdown: %s", last_error());
    OtCounters counters;
    CHECK(ot_tracer_counters(tracer, &counters) == OT_STATUS_OK, "counters");
    CHECK(counters.spans_started == 5 && counters.spans_exported == 5, "counters %llu started %llu exported",
          (unsigned long long)counters.spans_started, (unsigned long long)counters.spans_exported);
    CHECK(counters.ids_rejected == 3, "ids_rejected %llu, expected 3", (unsigned long long)counters.ids_rejected);
    CHECK(counters.spans_spooled == 0 && counters.spool_spans == 0 && counters.spool_bytes == 0 &&
              counters.spool_oldest_age_ms == 0,
          "no spool configured, yet %llu spooled, %llu in the spool, %llu bytes",
          (unsigned long long)counters.spans_spooled, (unsigned long long)counters.spool_spans,
          (unsigned long long)counters.spool_bytes);
    OtStage *late = NULL;
    OtStageStart after = stage_info("order_shipped", "ORD-C1");
    CHECK(ot_stage_start(tracer, &after, &late) == OT_STATUS_SHUT_DOWN, "stage after shutdown");
    ot_tracer_free(tracer);

    check_spool_counters(file);

    char *spans = read_spans(file);
    CHECK(spans != NULL, "spans read back");
    if (spans) {
        CHECK(strstr(spans, "\"name\":\"price_calculated\"") != NULL, "price_calculated exported");
        CHECK(strstr(spans, "\"order.price.amount\":\"249.9\"") != NULL, "price recorded");
        CHECK(strstr(spans, "\"mes.workcenter\":\"casting-2\"") != NULL, "attribute recorded");
        CHECK(strstr(spans, "\"user.id\":\"1b4e28ba-2fa1-11d2-883f-0016d3cca427\"") != NULL, "user from baggage");
        CHECK(strstr(spans, "\"exception.type\":\"Mes.MachineOfflineException\"") != NULL, "exception type");
        CHECK(strstr(spans, "\"exception.stacktrace\":\"at Mes.Machines.Reserve()\"") != NULL, "stack trace");
        CHECK(strstr(spans, trace_id) != NULL, "trace id %s in the file", trace_id);
        free(spans);
    }

    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
