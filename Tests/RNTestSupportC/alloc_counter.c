#include "rn_test_support.h"
