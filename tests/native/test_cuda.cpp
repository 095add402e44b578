// Native tests of cuda (filled in by its issue).
#include "cases.h"
