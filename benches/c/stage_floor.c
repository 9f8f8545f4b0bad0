/* The floor under the C# figure: the stage Bench.cs measures (price_calculated, order id, user
 * id, start records and heartbeats off), made from C with ot_stage_start + ot_stage_free and
 * nothing else, against the same release libordertrace_ffi.so with the same settings. The C#
 * figure minus this one is what the C# binding and Mono's P/Invoke add.
 * Same timing as Bench.cs: ns per stage, median of 7 rounds of N after a warm-up of N/10.
 * Build: gcc -O2 -I ffi/include stage_floor.c -L <lib> -lordertrace_ffi
 * Run:   OTEL_TRACES_EXPORTER=none OTEL_BSP_MAX_QUEUE_SIZE=1048576 ./stage_floor [N]
 * (benches/run-dotnet builds and runs it before the C# bench). */
#define _POSIX_C_SOURCE 199309L
#include "ordertrace.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static OtStr s(const char *t) { OtStr o = {(const uint8_t *)t, strlen(t)}; return o; }

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs n stages; returns ns per stage, or a negative number after printing the failure. */
static double round_ns(OtTracer *tracer, const OtStageStart *start, long n) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        OtStage *stage = NULL;
        OtBuffer *error = NULL;
        if (ot_stage_start(tracer, start, &stage, &error) != OT_STATUS_OK) {
            OtStr m = {NULL, 0};
            ot_buffer_str(error, &m, NULL);
            fprintf(stderr, "ot_stage_start failed: %.*s\n", (int)m.len, (const char *)m.ptr);
            ot_buffer_free(error);
            return -1;
        }
        ot_stage_free(stage); /* ends the open stage, as StageScope.Dispose does */
    }
    return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n < 10) {
        fprintf(stderr, "usage: stage_floor [iterations >= 10]\n");
        return 2;
    }
    const char *exporter = getenv("OTEL_TRACES_EXPORTER");
    if (exporter == NULL || strcmp(exporter, "none") != 0) {
        fprintf(stderr, "run with OTEL_TRACES_EXPORTER=none (benches/run-dotnet)\n");
        return 2;
    }
    OtTracerConfig config;
    memset(&config, 0, sizeof config);
    config.service_name = s("bench");
    config.otlp_protocol = OT_PROTOCOL_HTTP_PROTOBUF;
    config.start_records = 0;
    config.heartbeat_ms = 0;
    config.identity = OT_DEFAULT;
    config.read_env = 1;
    config.strict_ids = OT_DEFAULT;
    config.start_record_after_ms = -1;
    OtTracer *tracer = NULL;
    OtBuffer *error = NULL;
    if (ot_tracer_new(&config, &tracer, &error) != OT_STATUS_OK) {
        fprintf(stderr, "ot_tracer_new failed\n");
        ot_buffer_free(error);
        return 1;
    }
    OtStageStart start;
    memset(&start, 0, sizeof start);
    start.event = s("price_calculated");
    start.order_id = s("ORD-12345");
    start.user_id = s("1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    start.kind = 0;

    if (round_ns(tracer, &start, n / 10) < 0) return 1;
    double rounds[7];
    for (int r = 0; r < 7; r++) {
        rounds[r] = round_ns(tracer, &start, n);
        if (rounds[r] < 0) return 1;
    }
    qsort(rounds, 7, sizeof rounds[0], cmp);
    printf("C ABI floor (ot_stage_start + ot_stage_free from C, same stage): %.0f ns\n", rounds[3]);
    OtCounters c;
    if (ot_tracer_counters(tracer, &c, NULL) == OT_STATUS_OK)
        printf("counters: started %llu, exported %llu, dropped %llu\n", (unsigned long long)c.spans_started,
               (unsigned long long)c.spans_exported, (unsigned long long)c.spans_dropped);
    ot_tracer_free(tracer);
    return 0;
}
