/* The C ABI used the way a C caller uses it: the generated header, the shared library,
 * status codes and error messages handed back by value (each call's OtBuffer **error). Spans are checked as read back from the embedded
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

/* The message a failed call handed back in *error, copied into a static C string (valid
 * until the next call of this function); the buffer is freed and *error set to NULL. ""
 * when the call left no buffer. */
static const char *take(OtBuffer **error) {
    static char text[1024];
    text[0] = '\0';
    if (*error) {
        OtStr m;
        OtStatus status = ot_buffer_str(*error, &m, NULL);
        if (status == OT_STATUS_OK) {
            size_t n = m.len < sizeof text - 1 ? m.len : sizeof text - 1;
            memcpy(text, m.ptr, n);
            text[n] = '\0';
        } else {
            snprintf(text, sizeof text, "(ot_buffer_str failed: %d)", (int)status);
        }
        ot_buffer_free(*error);
        *error = NULL;
    }
    return text;
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
    OtBuffer *buffer = NULL, *error = NULL;
    if (ot_read_spans_json(s(path), &buffer, &error) != OT_STATUS_OK) {
        fprintf(stderr, "cannot read spans: %s\n", take(&error));
        return NULL;
    }
    OtStr text;
    ot_buffer_str(buffer, &text, NULL);
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
    OtBuffer *error = NULL;
    CHECK(ot_tracer_new(&config, &tracer, &error) == OT_STATUS_OK, "spooling tracer: %s", take(&error));
    if (!tracer) return;
    for (int i = 0; i < 5; i++) {
        OtStageStart info = stage_info("order_confirmed", "ORD-SPOOL");
        CHECK(ot_stage_record(tracer, &info, s(""), s(""), s(""), &error) == OT_STATUS_OK, "record: %s",
              take(&error));
    }
    /* Shut down: what the endpoint refused waits on disk (a flush would wait for the endpoint). */
    CHECK(ot_tracer_shutdown(tracer, 5000, &error) == OT_STATUS_OK, "shutdown: %s", take(&error));
    OtCounters c;
    CHECK(ot_tracer_counters(tracer, &c, &error) == OT_STATUS_OK, "spool counters: %s", take(&error));
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

/* strict_ids = 1: a bad id fails the start with OT_STATUS_INVALID_INPUT and the rule it broke
 * in *error, and is counted. */
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
    OtBuffer *error = NULL;
    CHECK(ot_tracer_new(&config, &tracer, &error) == OT_STATUS_OK, "strict tracer: %s", take(&error));
    if (!tracer) return;
    OtStage *none = NULL;
    OtStageStart bad = stage_info("order_confirmed", "");
    CHECK(ot_stage_start(tracer, &bad, &none, &error) == OT_STATUS_INVALID_INPUT, "strict: empty order id");
    const char *message = take(&error);
    CHECK(strcmp(message, "invalid order id: it is empty") == 0, "strict message: %s", message);
    bad = stage_info("order_confirmed", "ORD-C2");
    bad.user_id = s("bob");
    CHECK(ot_stage_start(tracer, &bad, &none, NULL) == OT_STATUS_INVALID_INPUT, "strict: malformed user id");
    CHECK(none == NULL, "strict: no handle on failure");
    OtCounters c;
    CHECK(ot_tracer_counters(tracer, &c, NULL) == OT_STATUS_OK && c.ids_rejected == 2 && c.spans_started == 0,
          "strict: %llu ids rejected, %llu spans", (unsigned long long)c.ids_rejected,
          (unsigned long long)c.spans_started);
    ot_tracer_shutdown(tracer, 5000, NULL);
    ot_tracer_free(tracer);
    remove(strict_file);
}

/* Errors are values: each failure hands back its own buffer (a later failure does not replace
 * an earlier message), success writes NULL over whatever *error held, and NULL is accepted. */
static void check_errors_are_values(OtTracer *tracer) {
    OtBuffer *unknown = NULL, *no_tracer = NULL;
    OtStage *none = NULL;
    OtStageStart lost = stage_info("order_lost", "ORD-C3");
    CHECK(ot_stage_start(tracer, &lost, &none, &unknown) == OT_STATUS_UNKNOWN_EVENT, "unknown event");
    OtStageStart fine = stage_info("order_confirmed", "ORD-C3");
    CHECK(ot_stage_start(NULL, &fine, &none, &no_tracer) == OT_STATUS_NULL_POINTER, "NULL tracer");
    CHECK(unknown != NULL && no_tracer != NULL && unknown != no_tracer, "two failures, two buffers");
    const char *first = take(&unknown);
    CHECK(strstr(first, "unknown order event \"order_lost\"") == first, "first message kept: %s", first);
    const char *second = take(&no_tracer);
    CHECK(strcmp(second, "tracer is a NULL pointer") == 0, "second message: %s", second);

    /* Success writes NULL: *error is never read, so garbage in it is fine. */
    OtBuffer *error = (OtBuffer *)&fine;
    CHECK(ot_order_id_check(s("ORD-5678"), &error) == OT_STATUS_OK && error == NULL,
          "success sets *error to NULL (%p)", (void *)error);

    /* NULL: the caller does not want the message; the status still says what happened. */
    CHECK(ot_order_id_check(s("ORD 1"), NULL) == OT_STATUS_INVALID_INPUT, "failure with a NULL error pointer");
    CHECK(ot_order_id_check(s("ORD-1"), NULL) == OT_STATUS_OK, "success with a NULL error pointer");

    /* Reading an error buffer is itself a call that can fail. */
    OtStr text;
    CHECK(ot_buffer_str(NULL, &text, &error) == OT_STATUS_NULL_POINTER, "ot_buffer_str(NULL)");
    const char *message = take(&error);
    CHECK(strcmp(message, "buffer is a NULL pointer") == 0, "ot_buffer_str(NULL) message: %s", message);
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
    OtBuffer *error = NULL;
    CHECK(ot_tracer_new(&config, &tracer, &error) == OT_STATUS_OK, "tracer: %s", take(&error));
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
    CHECK(ot_stage_start(tracer, &info, &price, &error) == OT_STATUS_OK, "start: %s", take(&error));
    CHECK(ot_stage_record_price(price, 249.9, s("EUR"), &error) == OT_STATUS_OK, "price: %s", take(&error));

    /* Outgoing headers carry this stage. */
    OtHeaders *out = NULL;
    CHECK(ot_stage_inject(price, &out, &error) == OT_STATUS_OK, "inject: %s", take(&error));
    size_t n = 0;
    CHECK(ot_headers_len(out, &n, &error) == OT_STATUS_OK, "headers_len: %s", take(&error));
    int saw_traceparent = 0;
    char trace_id[33] = {0}, span_id[17] = {0};
    CHECK(ot_stage_ids(price, (uint8_t *)trace_id, (uint8_t *)span_id, &error) == OT_STATUS_OK, "ids: %s",
          take(&error));
    for (size_t i = 0; i < n; i++) {
        OtStr k, v;
        CHECK(ot_headers_get(out, i, &k, &v, &error) == OT_STATUS_OK, "get %zu: %s", i, take(&error));
        if (k.len == 11 && memcmp(k.ptr, "traceparent", 11) == 0) {
            saw_traceparent = 1;
            CHECK(v.len == 55 && memcmp(v.ptr + 36, span_id, 16) == 0, "traceparent names this stage");
        }
    }
    CHECK(saw_traceparent, "inject wrote a traceparent (%zu headers)", n);
    OtStr k, v;
    CHECK(ot_headers_get(out, n, &k, &v, &error) == OT_STATUS_INVALID_INPUT, "index past the end is an error");
    const char *message = take(&error);
    CHECK(strstr(message, "out of range") != NULL, "index message: %s", message);
    ot_headers_free(out);
    CHECK(ot_stage_end(price, &error) == OT_STATUS_OK, "end: %s", take(&error));

    /* Use of a closed stage. */
    CHECK(ot_stage_end(price, &error) == OT_STATUS_CLOSED, "second end is OT_STATUS_CLOSED");
    message = take(&error);
    CHECK(strstr(message, "already ended") != NULL, "closed message: %s", message);
    OtStatus closed = OT_STATUS_CLOSED; /* a typed status, named by the core's table */
    OtStr name = ot_status_name(closed);
    CHECK(name.len == 6 && memcmp(name.ptr, "CLOSED", 6) == 0, "ot_status_name(OT_STATUS_CLOSED) is CLOSED");
    ot_stage_free(price);

    /* A failing stage. */
    OtStageStart failing = stage_info("manufacturing_started", "ORD-C1");
    OtStage *manufacturing = NULL;
    CHECK(ot_stage_start(tracer, &failing, &manufacturing, &error) == OT_STATUS_OK, "start: %s", take(&error));
    CHECK(ot_stage_end_with_error(manufacturing, s("Mes.MachineOfflineException"), s("casting-2 is offline"),
                                  s("at Mes.Machines.Reserve()"), &error) == OT_STATUS_OK,
          "end_with_error: %s", take(&error));
    ot_stage_free(manufacturing);

    /* Bad input: each a status and a readable message, never a crash. */
    check_errors_are_values(tracer);
    OtStage *none = NULL;
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
        CHECK(ot_stage_start(tracer, &bad_ids[i], &lenient, &error) == OT_STATUS_OK && lenient != NULL,
              "bad ids %d still start a stage: %s", i, take(&error));
        CHECK(ot_stage_end(lenient, &error) == OT_STATUS_OK, "end of lenient stage %d: %s", i, take(&error));
        ot_stage_free(lenient);
    }
    check_strict_ids(file);
    OtStageStart bad = stage_info("order_confirmed", "ORD-C2");
    bad.order_id.ptr = NULL;
    CHECK(ot_stage_start(tracer, &bad, &none, &error) == OT_STATUS_NULL_POINTER, "NULL order id with a length");
    message = take(&error);
    CHECK(strcmp(message, "order id is a NULL pointer") == 0, "NULL order id message: %s", message);
    CHECK(none == NULL, "no handle on failure");
    OtHeader malformed[] = {{s("traceparent"), s("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")}};
    CHECK(ot_headers_check(malformed, 1, &error) == OT_STATUS_MALFORMED_HEADER, "uppercase traceparent is malformed");
    message = take(&error);
    CHECK(strstr(message, "malformed traceparent header") == message, "malformed message: %s", message);

    /* Schema. */
    OtBuffer *schema = NULL;
    CHECK(ot_schema_json(&schema, &error) == OT_STATUS_OK, "schema: %s", take(&error));
    OtStr schema_text;
    CHECK(ot_buffer_str(schema, &schema_text, &error) == OT_STATUS_OK, "schema text: %s", take(&error));
    CHECK(schema_text.len > 0 && memchr(schema_text.ptr, '{', schema_text.len) != NULL, "schema is JSON");
    ot_buffer_free(schema);

    /* Counters, shutdown, and what was actually exported. */
    CHECK(ot_tracer_shutdown(tracer, 5000, &error) == OT_STATUS_OK, "shutdown: %s", take(&error));
    OtCounters counters;
    CHECK(ot_tracer_counters(tracer, &counters, &error) == OT_STATUS_OK, "counters: %s", take(&error));
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
    CHECK(ot_stage_start(tracer, &after, &late, &error) == OT_STATUS_SHUT_DOWN, "stage after shutdown");
    message = take(&error);
    CHECK(strcmp(message, "the tracer has been shut down") == 0, "shut down message: %s", message);
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
