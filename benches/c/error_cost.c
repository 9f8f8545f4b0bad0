/* Instruction cost of the C ABI's error reporting, old (thread-local last error) vs new
 * (OtBuffer **error), counted with callgrind (deterministic, load-independent).
 *   mode ok:   N successful ot_order_id_check calls (the fixed cost every successful call pays)
 *   mode fail: N failing ot_order_id_check calls, each message read as the C# binding reads it
 *              (old: ot_last_error_message for the length, then for the bytes; new:
 *              ot_buffer_str + ot_buffer_free)
 * -DOLD_API builds it against the header and library of a commit before issue 13's change
 * (ebe54e7 or older), for the "before" side; the figures are in BENCHMARKS.md.
 * Build: gcc -O2 [-DOLD_API] -I <include> error_cost.c -L <lib> -lordertrace_ffi
 * Run:   valgrind --tool=callgrind ./error_cost ok|fail 10000 (and 20000: per call = difference / 10,000) */
#include "ordertrace.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static OtStr s(const char *t) { OtStr o = {(const uint8_t *)t, strlen(t)}; return o; }

int main(int argc, char **argv) {
    long n = argc > 2 ? atol(argv[2]) : 100000;
    int fail = argc > 1 && strcmp(argv[1], "fail") == 0;
    OtStr id = s(fail ? "ORD 1" : "ORD-5678");
    size_t total = 0;
    for (long i = 0; i < n; i++) {
#ifdef OLD_API
        if (ot_order_id_check(id) != OT_STATUS_OK) {
            size_t len = ot_last_error_message(NULL, 0);
            uint8_t *buf = malloc(len);
            total += ot_last_error_message(buf, len);
            free(buf);
        }
#else
        OtBuffer *error = NULL;
        if (ot_order_id_check(id, &error) != OT_STATUS_OK) {
            OtStr m;
            ot_buffer_str(error, &m, NULL);
            total += m.len;
            ot_buffer_free(error);
        }
#endif
    }
    printf("%s: %ld calls, %zu message bytes\n", fail ? "fail" : "ok", n, total);
    return 0;
}
