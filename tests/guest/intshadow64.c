/*
 * The interrupt-shadow kernel (intshadow.c) in long mode, where the hot
 * loop runs as translated code.
 */
#include "intshadow.c"
