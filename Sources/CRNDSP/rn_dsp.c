/* CRNDSP is header-only (static inline functions); this file lets SwiftPM build the module. */
#include "rn_dsp.h"
