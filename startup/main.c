/* qlite-system-x86_64 */
#include "qlite/osdep.h"
#include "vl.h"

int main(int argc, char **argv)
{
    return qlite_main(argc, argv);
}
