/*
 * -help and -version text.
 */
#include "qlite/osdep.h"
#include "vl.h"

void vl_print_version(void)
{
    /* Tools parse the first line; keep QEMU's shape, add who we are. */
    printf("QEMU emulator version %d.%d.%d (qlite %s)\n"
           "Copyright (c) 2026 the qlite developers\n",
           QLITE_QEMU_MAJOR, QLITE_QEMU_MINOR, QLITE_QEMU_MICRO,
           QLITE_VERSION);
}

static const char help_text[] =
"usage: qlite-system-x86_64 [options]\n"
"\n"
"qlite runs x86-64 guests on KVM when /dev/kvm is there and on its own\n"
"CPU emulator (tcg) when it is not.  Options follow qemu-system-x86_64;\n"
"each may be written with one or two leading dashes.\n"
"\n"
"Standard options:\n"
"-h or -help                 display this help and exit\n"
"-version                    display version information and exit\n"
"-machine [type=]name[,prop=value[,...]]\n"
"                            select the board ('-machine help' lists them)\n"
"                            accel=accel1[:accel2[:...]] picks accelerators\n"
"-M name                     the same as -machine name\n"
"-accel [accel=]name[,prop=value]\n"
"                            select an accelerator (kvm, tcg, qtest);\n"
"                            repeat it to give a fallback order\n"
"-enable-kvm                 the same as -accel kvm\n"
"-cpu model[,+feature,-feature,prop=value]\n"
"                            select the CPU model ('-cpu help' lists them)\n"
"-smp [cpus=]n[,maxcpus=m][,sockets=s][,dies=d][,cores=c][,threads=t]\n"
"                            number and topology of virtual CPUs\n"
"-m [size=]megs[,slots=n,maxmem=size]\n"
"                            guest RAM; a bare number means MiB, suffixes\n"
"                            k, M, G, T are accepted\n"
"-name string1[,debug-threads=on|off]\n"
"                            set the name of the guest\n"
"-uuid uuid                  set the system UUID\n"
"-global driver.prop=value   default value for a device property\n"
"-device driver[,prop[=value][,...]]\n"
"                            add a device ('-device help' lists them,\n"
"                            '-device NAME,help' lists NAME's properties)\n"
"\n"
"Block and network options (stored for the devices that use them):\n"
"-drive [file=file][,if=type][,format=f][,cache=mode][,id=name]...\n"
"-blockdev driver=d,node-name=n,...\n"
"-netdev user,id=str[,...] | tap,id=str[,...]\n"
"\n"
"Display options:\n"
"-display none               no display\n"
"-nographic                  no display; serial and monitor on stdio\n"
"                            (Ctrl-a h for help)\n"
"-vga none                   no VGA card\n"
"\n"
"Linux/Multiboot boot:\n"
"-bios file                  firmware image for the top of 4 GiB\n"
"-kernel bzImage             boot this kernel\n"
"-append cmdline             kernel command line\n"
"-initrd file                initial ram disk (multiboot: modules)\n"
"\n"
"Character devices and monitors:\n"
"-chardev backend,id=id[,...]\n"
"                            backends: null, stdio, file, pty, socket\n"
"-serial dev                 redirect the next serial port to dev\n"
"                            (stdio, null, pty, file:PATH, unix:PATH,\n"
"                            tcp:HOST:PORT, mon:stdio, chardev:ID, none)\n"
"-monitor dev                human monitor on dev\n"
"-qmp dev                    QMP monitor on dev\n"
"-qmp-pretty dev             QMP monitor with indented replies\n"
"-mon [chardev=]id[,mode=readline|control][,pretty=on|off]\n"
"\n"
"Run control:\n"
"-S                          do not start the CPUs (use 'cont')\n"
"-no-reboot                  exit instead of rebooting\n"
"-no-shutdown                stop the guest instead of exiting on shutdown\n"
"-daemonize                  run in the background once set up\n"
"-pidfile file               write the process id to file\n"
"-nodefaults                 create no default devices\n"
"-no-user-config             read no user configuration files\n"
"-qtest dev                  drive the machine with the qtest protocol\n"
"-d item1[,...]              log guest_errors, unimp\n"
"\n"
"During emulation, with -nographic, Ctrl-a x quits and Ctrl-a h shows\n"
"the other keys.\n";

void vl_print_help(void)
{
    vl_print_version();
    fputs("\n", stdout);
    fputs(help_text, stdout);
}
