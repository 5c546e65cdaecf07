/* A C target needs a source file; this one also checks that rn_x86.h compiles at the baseline,
 * where it defines only the vector type (the intrinsics need the module's -target-cpu). */
#include "rn_x86.h"
