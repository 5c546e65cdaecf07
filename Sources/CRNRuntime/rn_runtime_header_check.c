/* Compiles the public header as plain C in every build, so a C-only mistake shows at once. */
#include "rn_runtime.h"

_Static_assert(sizeof(rn_model) == RN_MODEL_SIZE, "rn_model size is part of the ABI");
_Static_assert(sizeof(rn_status) == 4, "rn_status is 32 bits");
