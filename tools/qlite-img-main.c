/*
 * qlite-img's main(): the tool is img_main(), so test programs can wrap it.
 */
#include "qlite-img.h"

int main(int argc, char **argv)
{
    return img_main(argc, argv);
}
