// Native tests of hsr (filled in by its issue).
#include "cases.h"
