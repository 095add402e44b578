// Native tests of hyper (filled in by its issue).
#include "cases.h"
