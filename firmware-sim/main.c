/*
 * firmware-sim: rn as C firmware. The model is a const array in flash (model.h, from
 * `rn-export --c-header`), the arena a static aligned buffer sized by the header's define, and
 * the test inputs uint8 pixels with the int8 outputs the host Swift runtime computed for them
 * (test_vectors.h, from rn-firmware-vectors). Nothing is allocated: there is no heap.
 *
 * For every input: rn_quantize_image_u8, rn_invoke, compare with the expected bytes, print the
 * top class and the count (guest instructions on the simulated board, ns on the host). The first
 * inference is also profiled per layer through rn_invoke_observed. Exit status 0 only if every
 * output matched (and, on the host, 100 more inferences made no heap call).
 *
 * Modes (argv[1] on the host, semihosting arg on QEMU), each must fail with the status string:
 *   bad-checksum    a copy of the model with one constant byte flipped -> rn_model_init fails
 *   small-arena     rn_invoke with an arena one byte smaller than RN_MODEL_ARENA_BYTES
 *   bad-input-size  rn_invoke_sized with an input one byte short
 */
#include <stddef.h>
#include <stdint.h>
#include "platform.h"
#include "rn_runtime.h"
#include "model.h"
#include "test_vectors.h"

#define MAX_OPS 128

static uint8_t arena[RN_MODEL_ARENA_BYTES] __attribute__((aligned(16)));
static int8_t input[RN_MODEL_INPUT_BYTES];
static int8_t output[RN_MODEL_OUTPUT_BYTES];

/* ---- printing without printf ---------------------------------------------------------------- */

static void print(const char *s) { platform_print(s); }

static void print_u64(uint64_t v) {
    char digits[24], out[32];
    int n = 0, o = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) {
        out[o++] = digits[--n];
        if (n && n % 3 == 0) out[o++] = ',';
    }
    out[o] = 0;
    print(out);
}

static void print_i32(int32_t v) {
    if (v < 0) { print("-"); print_u64((uint64_t)(-(int64_t)v)); } else print_u64((uint64_t)v);
}

static void print_hex(uint32_t v) {
    char out[11] = "0x";
    for (int i = 0; i < 8; i++) out[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    out[10] = 0;
    print(out);
}

/* x / y with two decimals. */
static void print_ratio(uint64_t x, uint64_t y) {
    uint64_t hundredths = y ? (x * 100 + y / 2) / y : 0;
    print_u64(hundredths / 100);
    print(".");
    char d[3] = {(char)('0' + hundredths / 10 % 10), (char)('0' + hundredths % 10), 0};
    print(d);
}

static int fail_status(const char *what, rn_status status) {
    print("error: ");
    print(what);
    print(": ");
    print(rn_status_string(status));
    print("\n");
    return 1;
}

/* ---- per-layer profile ---------------------------------------------------------------------- */

typedef struct {
    uint64_t start;
    uint64_t count[MAX_OPS];
    uint64_t macs[MAX_OPS];
    int32_t kind[MAX_OPS];
} profile;

static void on_layer(void *user, const rn_layer_event *event) {
    profile *p = user;
    uint64_t now = platform_count();
    if (event->op_index >= MAX_OPS) return;
    if (event->phase == 0) {
        p->start = now;
    } else {
        p->count[event->op_index] = now - p->start;
        p->macs[event->op_index] = event->macs;
        p->kind[event->op_index] = event->kind;
    }
}

static const char *kind_name(int32_t kind) {
    switch (kind) {
    case RN_OP_CONV2D: return "conv2d";
    case RN_OP_FULLY_CONNECTED: return "fully_connected";
    case RN_OP_ADD: return "add";
    case RN_OP_MAX_POOL: return "max_pool";
    case RN_OP_GLOBAL_AVERAGE_POOL: return "global_average_pool";
    case RN_OP_CONV2D_ADD: return "conv2d_add";
    case RN_OP_CONV2D_MAX_POOL: return "conv2d_max_pool";
    default: return "?";
    }
}

static profile layers;

/* ---- main ------------------------------------------------------------------------------------ */

static int streq(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

int firmware_main(const char *mode) {
    rn_model model;
    rn_status status;

    if (streq(mode, "bad-checksum")) {
        /* A writable copy, in the board's PSRAM (off the RAM budget) or a host buffer. */
        uint8_t *model_copy = platform_scratch(RN_MODEL_BYTES);
        if (!model_copy) { print("error: no scratch memory for the model copy\n"); return 2; }
        for (size_t i = 0; i < RN_MODEL_BYTES; i++) model_copy[i] = rn_model_data[i];
        model_copy[RN_MODEL_BYTES - 1] ^= 0x01;
        status = rn_model_init(&model, model_copy, RN_MODEL_BYTES);
        return status == RN_OK ? (print("error: corrupted model accepted\n"), 2) : fail_status("model", status);
    }

    status = rn_model_init(&model, rn_model_data, RN_MODEL_BYTES);
    if (status != RN_OK) return fail_status("model", status);
    if (streq(mode, "small-arena")) {
        status = rn_invoke(&model, arena, RN_MODEL_ARENA_BYTES - 1, input, output);
        return status == RN_OK ? (print("error: small arena accepted\n"), 2) : fail_status("invoke", status);
    }
    if (streq(mode, "bad-input-size")) {
        status = rn_invoke_sized(&model, arena, sizeof arena, input, RN_MODEL_INPUT_BYTES - 1, output, sizeof output);
        return status == RN_OK ? (print("error: short input accepted\n"), 2) : fail_status("invoke", status);
    }
#ifdef __arm__
    if (streq(mode, "calibrate")) {
        /* 1,000,000 iterations of a two-instruction loop: the counter should read ~2,000,000. */
        uint64_t start = platform_count();
        __asm__ volatile("mov r0, #16960\n movt r0, #15\n 1: subs r0, #1\n bne 1b" ::: "r0", "cc");
        print("2,000,002 instructions counted as ");
        print_u64(platform_count() - start);
        print("\n");
        return 0;
    }
#endif
    if (!streq(mode, "")) {
        print("error: unknown mode '");
        print(mode);
        print("' (bad-checksum, small-arena, bad-input-size)\n");
        return 64;
    }

    print("rn firmware-sim on ");
    print(platform_name);
    print("\nmodel: ");
    print_u64(RN_MODEL_BYTES);
    print(" bytes at ");
    print_hex((uint32_t)(uintptr_t)rn_model_data);
    print(", ");
    print_i32(rn_model_op_count(&model));
    print(" ops; arena ");
    print_u64(rn_model_arena_size(&model));
    print(" bytes at ");
    print_hex((uint32_t)(uintptr_t)arena);
    print(" (lower bound ");
    print_u64(RN_MODEL_ARENA_LOWER_BOUND);
    print(")\n");

    uint64_t total_macs = 0;
    int matched = 0;
    for (int t = 0; t < RN_TEST_COUNT; t++) {
        rn_quantize_image_u8(&model, rn_test_pixels[t], input);
        uint64_t start = platform_count();
        status = t == 0 ? rn_invoke_observed(&model, arena, sizeof arena, input, output, on_layer, &layers)
                        : rn_invoke(&model, arena, sizeof arena, input, output);
        uint64_t used = platform_count() - start;
        if (status != RN_OK) return fail_status("invoke", status);
        if (t == 0) for (int i = 0; i < rn_model_op_count(&model) && i < MAX_OPS; i++) total_macs += layers.macs[i];

        int same = 1, first = -1;
        for (int i = 0; i < RN_TEST_OUTPUTS; i++) if (output[i] != rn_test_expected[t][i]) { same = 0; if (first < 0) first = i; }
        matched += same;
        int32_t top = rn_argmax_s8(output, RN_MODEL_OUTPUT_BYTES);
        size_t label_length = 0;
        const char *label = rn_model_label(&model, top, &label_length);
        print(rn_test_names[t]);
        print(": class ");
        print_i32(top);
        print(" ");
        char name[64];
        size_t n = label && label_length < sizeof name ? label_length : 0;
        for (size_t i = 0; i < n; i++) name[i] = label[i];
        name[n] = 0;
        print(name);
        print(same ? ", output matches the host runtime; " : ", OUTPUT DIFFERS from the host runtime; ");
        print_u64(used);
        print(" ");
        print(platform_count_unit);
        print(" (");
        print_ratio(used, total_macs);
        print(" per MAC)\n");
        if (!same) {
            print("  first difference at logit ");
            print_i32(first);
            print(": got ");
            print_i32(output[first]);
            print(", expected ");
            print_i32(rn_test_expected[t][first]);
            print("\n");
        }
    }

    print("per layer (first inference): op, kind, MACs, ");
    print(platform_count_unit);
    print(", per MAC\n");
    for (int i = 0; i < rn_model_op_count(&model) && i < MAX_OPS; i++) {
        print("  ");
        print_i32(i);
        print(" ");
        print(kind_name(layers.kind[i]));
        print(" ");
        print_u64(layers.macs[i]);
        print(" ");
        print_u64(layers.count[i]);
        print(" ");
        print_ratio(layers.count[i], layers.macs[i]);
        print("\n");
    }

    /* No heap, ever: 100 more inferences, counting heap calls (the host wraps malloc). */
    uint64_t heap_before = platform_heap_calls();
    int repeats = RN_REPEATS;
    for (int r = 0; r < repeats; r++) {
        rn_quantize_image_u8(&model, rn_test_pixels[r % RN_TEST_COUNT], input);
        status = rn_invoke(&model, arena, sizeof arena, input, output);
        if (status != RN_OK) return fail_status("invoke", status);
    }
    uint64_t heap_calls = platform_heap_calls() - heap_before;
    print("heap calls during ");
    print_i32(repeats);
    print(" more inferences: ");
    print_u64(heap_calls);
    print("\nresult: ");
    print_i32(matched);
    print(" of ");
    print_i32(RN_TEST_COUNT);
    print(" outputs match the host runtime\n");
    return matched == RN_TEST_COUNT && heap_calls == 0 ? 0 : 1;
}
