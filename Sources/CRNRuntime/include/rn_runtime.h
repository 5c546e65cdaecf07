/*
 * rn_runtime.h: the C interface of rn's int8 ResNet runtime.
 *
 * Link: cc main.c libRNRuntime.a   (built by Tools/build-runtime-lib; no Swift runtime, no libc
 * heap: the library never calls malloc. It needs only memset, memcpy, memmove, memcmp and the
 * stack protector (__stack_chk_guard, __stack_chk_fail); on Arm also the __aeabi_mem* helpers and
 * libgcc. Tools/c-link-test enforces that list).
 *
 * Life cycle, as in TensorFlow Lite Micro:
 *   rn_model model;                                 caller-owned, any storage, RN_MODEL_SIZE bytes
 *   rn_model_init(&model, blob, blob_len);          validates everything once, copies nothing
 *   static uint8_t arena[N] __attribute__((aligned(16)));   N >= rn_model_arena_size(&model)
 *   rn_quantize_image_u8(&model, pixels, input);    optional: uint8 pixels -> int8 input
 *   rn_invoke(&model, arena, sizeof arena, input, output);  as often as needed
 *
 * Ownership: the model bytes (`blob`) belong to the caller and must stay valid and unchanged
 * while `model` is used (flash, a static array or an mmap). The arena belongs to the caller; rn
 * uses it only during rn_invoke and keeps nothing in it between calls. Nothing is allocated,
 * ever. Functions are reentrant given distinct arenas; one arena must not serve two
 * simultaneous invokes.
 *
 * Numbers: int8 tensors in NHWC order, batch 1; real = scale * (q - zero_point).
 * All functions return RN_OK (0) on success or a status below; rn_status_string names it.
 */
#ifndef RN_RUNTIME_H
#define RN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------------------------ */

/* 0 on success; codes are stable and never renumbered. */
typedef int32_t rn_status;

enum rn_status_code {
    RN_OK =                           0,   /* ok */
    RN_NULL_ARGUMENT =                1,   /* null argument */
    RN_BLOB_MISALIGNED =              2,   /* model bytes are not 16-byte aligned */
    RN_ARENA_TOO_SMALL =              3,   /* arena too small */
    RN_ARENA_MISALIGNED =             4,   /* arena is not 16-byte aligned */
    RN_OUTPUT_BUFFER_TOO_SMALL =      5,   /* output buffer too small */
    RN_INDEX_OUT_OF_RANGE =           6,   /* index out of range */
    RN_MODEL_NOT_INITIALIZED =        7,   /* rn_model not initialized by rn_model_init */
    RN_INPUT_SIZE_MISMATCH =          8,   /* input size does not match the model's input tensor */
    RN_TRUNCATED_HEADER =             10,   /* file shorter than the fixed header */
    RN_BAD_MAGIC =                    11,   /* bad magic (not an .rnb model) */
    RN_UNSUPPORTED_VERSION =          12,   /* unsupported format version */
    RN_BAD_HEADER_SIZE =              13,   /* bad header_size */
    RN_TRUNCATED_FILE =               14,   /* truncated: file shorter than header.file_size */
    RN_FILE_SIZE_MISMATCH =           15,   /* file longer than header.file_size */
    RN_CHECKSUM_MISMATCH =            16,   /* checksum mismatch (header.crc32) */
    RN_RESERVED_NOT_ZERO =            17,   /* header reserved bytes not zero */
    RN_BAD_FLAGS =                    18,   /* unknown header.flags */
    RN_SECTION_OUT_OF_BOUNDS =        19,   /* section outside the file */
    RN_SECTION_MISALIGNED =           20,   /* section offset not aligned */
    RN_SECTIONS_OVERLAP =             21,   /* sections out of order or overlapping */
    RN_BAD_TENSOR_COUNT =             22,   /* bad header.tensor_count */
    RN_BAD_OP_COUNT =                 23,   /* bad header.op_count */
    RN_BAD_INPUT_TENSOR =             24,   /* bad header.input_tensor */
    RN_BAD_OUTPUT_TENSOR =            25,   /* bad header.output_tensor */
    RN_BAD_ARENA_SIZE =               26,   /* bad header.arena_bytes */
    RN_BAD_SCRATCH_SIZE =             27,   /* bad header.scratch_bytes */
    RN_BAD_LOWER_BOUND =              28,   /* header.arena_lower_bound larger than header.arena_bytes */
    RN_BAD_TENSOR_TYPE =              30,   /* tensor.dtype is not int8 */
    RN_BAD_TENSOR_RANK =              31,   /* tensor.rank not in 1...4 */
    RN_BAD_TENSOR_DIMS =              32,   /* tensor.dims invalid (batch must be 1, unused dims 1) */
    RN_BAD_TENSOR_SCALE =             33,   /* tensor.scale not finite and positive */
    RN_BAD_TENSOR_ZERO_POINT =        34,   /* tensor.zero_point outside int8 */
    RN_TENSOR_OUTSIDE_ARENA =         35,   /* tensor.arena_offset + size beyond the activation arena */
    RN_TENSOR_MISALIGNED =            36,   /* tensor.arena_offset not 16-byte aligned */
    RN_TENSOR_TOO_LARGE =             37,   /* tensor larger than 2^31 bytes */
    RN_BAD_OP_KIND =                  50,   /* unknown op.kind */
    RN_BAD_OPERAND =                  51,   /* op operand is not a tensor index */
    RN_OPERAND_NOT_READY =            52,   /* op reads a tensor before it is produced */
    RN_OUTPUT_OUT_OF_ORDER =          53,   /* op.output is not op index + 1 (tensors are numbered in computation order) */
    RN_TENSOR_UNUSED =                54,   /* tensor neither read nor produced */
    RN_BAD_ACTIVATION_RANGE =         56,   /* op.act_min > op.act_max */
    RN_BAD_WINDOW =                   57,   /* op kernel window invalid */
    RN_BAD_STRIDE =                   58,   /* op stride invalid */
    RN_BAD_PADDING =                  59,   /* op padding not smaller than the kernel window */
    RN_BAD_OUTPUT_SHAPE =             60,   /* op output shape does not follow from input, window, stride, padding */
    RN_CHANNEL_MISMATCH =             61,   /* op channel counts disagree */
    RN_QUANTIZATION_MISMATCH =        62,   /* op requires equal scale and zero point */
    RN_BAD_WEIGHT_LAYOUT =            63,   /* unknown op.weight_layout */
    RN_WEIGHTS_OUT_OF_BOUNDS =        64,   /* op weights outside the constants section */
    RN_WEIGHTS_MISALIGNED =           65,   /* op weights not 16-byte aligned */
    RN_BAD_WEIGHTS_SIZE =             66,   /* op.weights_size does not match the shapes */
    RN_BAD_WEIGHT_VALUE =             67,   /* weight -128 (weights are symmetric, -127...127) */
    RN_BIAS_OUT_OF_BOUNDS =           68,   /* op bias outside the constants section or misaligned */
    RN_MULTIPLIER_OUT_OF_BOUNDS =     69,   /* op multipliers outside the constants section or misaligned */
    RN_SHIFT_OUT_OF_BOUNDS =          70,   /* op shifts outside the constants section or misaligned */
    RN_BAD_MULTIPLIER =               71,   /* requantization multiplier not 0 or in [2^30, 2^31) */
    RN_BAD_SHIFT =                    72,   /* requantization shift not in -31...30 */
    RN_BAD_ADD_PARAMETERS =           73,   /* add left_shift not in 0...23 or input shift positive */
    RN_OP_FIELD_NOT_ZERO =            74,   /* op field unused by this kind is not zero */
    RN_SHAPE_MISMATCH =               75,   /* op operand shapes disagree */
    RN_PLAN_OVERLAP =                 90,   /* memory plan: live tensors overlap in the arena */
    RN_IN_PLACE_NOT_ALLOWED =         91,   /* memory plan: in-place output only over an input the op may overwrite (add, conv2d_add's residual) at its last use */
    RN_BAD_METADATA =                 100,   /* metadata record out of bounds */
    RN_INPUT_TABLE_OUT_OF_BOUNDS =    101,   /* header.input_table_offset outside the constants section */
    RN_BAD_LABELS =                   102,   /* labels record invalid */
    RN_BAD_PREPROCESSING =            103,   /* preprocessing record invalid */
    RN_BAD_OP_NAMES =                 104,   /* op names record does not have one line per op */
};

/* The first name of RN_OUTPUT_BUFFER_TOO_SMALL, kept for callers written against it. */
#define RN_MODEL_BUFFER_TOO_SMALL RN_OUTPUT_BUFFER_TOO_SMALL

/* A static, NUL-terminated description of `status` ("unknown status" for other values). */
const char *rn_status_string(rn_status status);

/* ---- types ------------------------------------------------------------------------------- */

/* Bytes of an rn_model. */
#define RN_MODEL_SIZE 256

/* An initialized model: a validated view of the caller's blob. Opaque; copyable with memcpy
 * while the blob lives. 8-byte aligned. */
typedef struct rn_model {
    uint64_t opaque[RN_MODEL_SIZE / 8];
} rn_model;

/* Shape and quantization of a tensor. */
typedef struct rn_tensor_info {
    int32_t rank;       /* 1 to 4 */
    int32_t dims[4];    /* NHWC; unused trailing dims are 1. Logits are rank 2: {1, K, 1, 1} */
    float scale;        /* real = scale * (q - zero_point) */
    int32_t zero_point; /* -128 to 127 */
    int32_t bytes;      /* product of dims: int8 element count */
} rn_tensor_info;

/* Op kinds, as in the .rnb format (Sources/RNFormat/FORMAT.md). */
enum rn_op_kind {
    RN_OP_CONV2D = 1,
    RN_OP_FULLY_CONNECTED = 2,
    RN_OP_ADD = 3,
    RN_OP_MAX_POOL = 4,
    RN_OP_GLOBAL_AVERAGE_POOL = 5,
    RN_OP_CONV2D_ADD = 6,       /* convolution fused with the residual add after it */
    RN_OP_CONV2D_MAX_POOL = 7,  /* convolution streamed row by row into the max pool after it */
    RN_OP_MEAN = 8              /* TFLite int8 MEAN over height and width, requantized */
};

/* What a layer callback receives, before (phase 0) and after (phase 1) each op. */
typedef struct rn_layer_event {
    int32_t phase;         /* 0 = about to run, 1 = done: `output` holds the result */
    int32_t op_index;      /* 0 .. op count - 1, in execution order */
    int32_t kind;          /* enum rn_op_kind */
    int32_t output_tensor; /* op_index + 1 */
    uint64_t macs;         /* multiply-accumulates of the op, padded taps counted; 0 for add/pool */
    const int8_t *output;  /* the op's output in the arena; valid during the callback only */
    int32_t output_bytes;
    int32_t reserved;
} rn_layer_event;

/* Called synchronously from rn_invoke_observed; must not call back into rn with the same arena. */
typedef void (*rn_layer_callback)(void *user, const rn_layer_event *event);

/* Detail of a validation failure: which tensor/op (or -1) and the numbers involved. */
typedef struct rn_error_detail {
    rn_status status;
    int32_t index; /* tensor or op index the error concerns, or -1 */
    int64_t found; /* the offending value (e.g. bytes given) */
    int64_t limit; /* the bound it broke (e.g. bytes needed) */
} rn_error_detail;

/* ---- the contract (DESIGN.md section 4) -------------------------------------------------- */

/* Validates `blob` (header, checksum, every table entry, op parameters against shapes, memory
 * plan) and initializes `model` as a view of it; copies and allocates nothing. `blob` must be
 * 16-byte aligned and exactly the file's length. On failure `model` is marked uninitialized. */
rn_status rn_model_init(rn_model *model, const void *blob, size_t blob_len);

/* Arena bytes rn_invoke needs (activations plus kernel scratch); 0 if `model` is not
 * initialized. Exact: the plan was computed at export. */
size_t rn_model_arena_size(const rn_model *model);

/* Shape and quantization of the input (output) tensor. */
rn_status rn_model_input_info(const rn_model *model, rn_tensor_info *info);
rn_status rn_model_output_info(const rn_model *model, rn_tensor_info *info);

/* Maps uint8 pixels (H x W x C of the input tensor, already resized; C = 1 gray or 3 RGB) to
 * the int8 input through the model's per-channel tables: no float. `input` holds
 * input_info.bytes. */
rn_status rn_quantize_image_u8(const rn_model *model, const uint8_t *pixels_hwc, int8_t *input);

/* Runs the model. `arena`: 16-byte aligned, at least rn_model_arena_size bytes, contents
 * irrelevant (RN_ARENA_TOO_SMALL / RN_ARENA_MISALIGNED otherwise). `input`: input_info.bytes
 * int8 values. `output`: room for output_info.bytes int8 values. */
rn_status rn_invoke(const rn_model *model, void *arena, size_t arena_len,
                    const int8_t *input, int8_t *output);

/* ---- extras ------------------------------------------------------------------------------ */

/* rn_invoke, calling `callback(user, event)` before and after every op (profilers, drift). */
rn_status rn_invoke_observed(const rn_model *model, void *arena, size_t arena_len,
                             const int8_t *input, int8_t *output,
                             rn_layer_callback callback, void *user);

/* rn_invoke with the caller's buffer sizes checked first: RN_INPUT_SIZE_MISMATCH unless
 * input_len is exactly the input tensor's bytes, RN_OUTPUT_BUFFER_TOO_SMALL if output_len is less
 * than the output tensor's bytes. */
rn_status rn_invoke_sized(const rn_model *model, void *arena, size_t arena_len,
                          const int8_t *input, size_t input_len, int8_t *output, size_t output_len);

/* Like rn_model_init without a model: fills `detail` (may be NULL) with where it failed. */
rn_status rn_model_validate(const void *blob, size_t blob_len, rn_error_detail *detail);

/* Number of ops; 0 if `model` is not initialized. */
int32_t rn_model_op_count(const rn_model *model);

/* Least arena any plan of this graph could use, as recorded at export (for reports). */
size_t rn_model_arena_lower_bound(const rn_model *model);

/* Class label `index` (UTF-8, not NUL-terminated) and its length; NULL when the model has no
 * labels or `index` is out of range. Points into the blob. */
const char *rn_model_label(const rn_model *model, int32_t index, size_t *length);

/* Index of the largest of `count` int8 values (the first on ties): the top-1 class. */
int32_t rn_argmax_s8(const int8_t *values, int32_t count);

#ifdef __cplusplus
}
#endif

#endif /* RN_RUNTIME_H */
