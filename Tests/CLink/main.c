/*
 * C link test: a plain C program using only rn_runtime.h and libRNRuntime.a (the Embedded Swift
 * build, no Swift runtime). Loads a golden case, runs every input, compares with the expected
 * outputs byte for byte, and checks the error paths a firmware author relies on.
 *
 * usage: c-link-test GOLDEN_DIR [MODEL]   (a folder with model.rnb, inputs.bin, expected.bin; MODEL
 *        names another model file there, e.g. model-o16hwi4.rnb, the same graph in weight layout 1)
 * exit status: 0 when every output matched and every check passed, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rn_runtime.h"

static int failures = 0;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

/* Reads a whole file into 16-byte aligned memory (the test's allocation, not the library's). */
static void *read_file(const char *dir, const char *name, size_t *length) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "error: %s: cannot open\n", path); exit(1); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = aligned_alloc(16, ((size_t)size + 15) / 16 * 16 + 16);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) { fprintf(stderr, "error: %s: read failed\n", path); exit(1); }
    fclose(f);
    *length = (size_t)size;
    return data;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) { fprintf(stderr, "usage: %s GOLDEN_DIR [MODEL]\n", argv[0]); return 64; }
    const char *model_name = argc == 3 ? argv[2] : "model.rnb";
    size_t model_len, inputs_len, expected_len;
    const uint8_t *blob = read_file(argv[1], model_name, &model_len);
    const int8_t *inputs = read_file(argv[1], "inputs.bin", &inputs_len);
    const int8_t *expected = read_file(argv[1], "expected.bin", &expected_len);

    rn_model model;
    rn_status status = rn_model_init(&model, blob, model_len);
    if (status != RN_OK) { fprintf(stderr, "error: %s: %s\n", model_name, rn_status_string(status)); return 1; }

    rn_tensor_info in, out;
    CHECK(rn_model_input_info(&model, &in) == RN_OK, "input info");
    CHECK(rn_model_output_info(&model, &out) == RN_OK, "output info");
    size_t arena_size = rn_model_arena_size(&model);
    printf("model: %zu bytes, %d ops, input %dx%dx%d (scale %g, zero point %d), %d outputs\n", model_len,
           rn_model_op_count(&model), in.dims[1], in.dims[2], in.dims[3], in.scale, in.zero_point, out.bytes);
    printf("arena: %zu bytes (lower bound %zu)\n", arena_size, rn_model_arena_lower_bound(&model));

    static uint8_t arena[1 << 20] __attribute__((aligned(16)));
    static int8_t output[4096];
    CHECK(arena_size <= sizeof arena && out.bytes <= (int32_t)sizeof output, "golden model too large for this test");

    size_t count = inputs_len / (size_t)in.bytes;
    CHECK(count * (size_t)out.bytes == expected_len, "inputs.bin and expected.bin disagree");
    for (size_t k = 0; k < count; k++) {
        status = rn_invoke(&model, arena, arena_size, inputs + k * (size_t)in.bytes, output);
        CHECK(status == RN_OK, "invoke %zu: %s", k, rn_status_string(status));
        int mismatches = 0;
        for (int32_t i = 0; i < out.bytes; i++) mismatches += output[i] != expected[k * (size_t)out.bytes + (size_t)i];
        int32_t top = rn_argmax_s8(output, out.bytes);
        size_t label_len = 0;
        const char *label = rn_model_label(&model, top, &label_len);
        printf("input %zu: top class %d (%.*s), %s\n", k, top, (int)label_len, label ? label : "",
               mismatches ? "MISMATCH" : "matches expected");
        CHECK(mismatches == 0, "input %zu: %d bytes differ", k, mismatches);
    }

    /* Error paths. */
    CHECK(rn_invoke(&model, arena, arena_size - 16, inputs, output) == RN_ARENA_TOO_SMALL, "arena too small");
    CHECK(rn_invoke(&model, arena + 1, arena_size, inputs, output) == RN_ARENA_MISALIGNED, "misaligned arena");
    CHECK(rn_model_init(&model, blob, model_len - 1) == RN_TRUNCATED_FILE, "truncated model");
    CHECK(rn_invoke(&model, arena, arena_size, inputs, output) == RN_MODEL_NOT_INITIALIZED, "use after failed init");
    rn_error_detail detail;
    CHECK(rn_model_validate(blob, 40, &detail) == RN_TRUNCATED_HEADER && detail.found == 40, "validate detail");
    CHECK(strcmp(rn_status_string(RN_CHECKSUM_MISMATCH), "checksum mismatch (header.crc32)") == 0, "status string");

    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
