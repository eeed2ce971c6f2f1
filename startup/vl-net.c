/*
 * The network options: -netdev, -nic and the old -net, turned into back
 * ends (netdev_add) before the board is built and NIC devices after it.
 *
 *   -netdev TYPE,id=ID,...          a back end, for -device NIC,netdev=ID
 *   -nic TYPE[,model=M][,mac=A],... a back end and its NIC in one option
 *   -nic none                       no network at all
 *   -net nic[,model=M][,macaddr=A][,netdev=ID]   and
 *   -net TYPE,...                   the form old tutorials use: each NIC
 *                                   takes the next back end in order
 *
 * With none of them (and no -nodefaults) the guest gets what QEMU gives
 * it: an e1000 on user networking.
 */
#include "vl.h"
#include "qlite/error.h"
#include "qlite/net.h"
#include "qlite/object.h"
#include "qlite/qdev.h"

#define DEFAULT_NIC_MODEL   "e1000"

/* A NIC to create once the PCI bus is there. */
typedef struct VlNic {
    char *location;
    char *model;
    char *mac;
    char *netdev;
    bool is_default;            /* dropped where the board has no PCI */
} VlNic;

static GPtrArray *pending_nics;     /* of VlNic * */

G_NORETURN static void vl_net_fail(const char *location, GError *err)
{
    error_set_location(location);
    vl_fail(err);
}

static void vl_nic_free(gpointer p)
{
    VlNic *nic = p;

    g_free(nic->location);
    g_free(nic->model);
    g_free(nic->mac);
    g_free(nic->netdev);
    g_free(nic);
}

/* model=help: the NICs -device knows, as QEMU lists them. */
static void vl_print_nic_models(void)
{
    g_autoptr(GSList) list = object_class_get_list(TYPE_DEVICE, false);

    printf("Supported NIC models:\n");
    for (GSList *l = list; l; l = l->next) {
        DeviceClass *dc = l->data;

        if (dc->category == DEVICE_CATEGORY_NETWORK && dc->user_creatable) {
            printf("%s\n", object_class_get_name(OBJECT_CLASS(dc)));
        }
    }
}

static VlNic *vl_queue_nic(const char *location, const char *model,
                           const char *mac, const char *netdev)
{
    VlNic *nic;

    if (!g_strcmp0(model, "help") || !g_strcmp0(model, "?")) {
        vl_print_nic_models();
        exit(0);
    }
    nic = g_new0(VlNic, 1);

    /* model=virtio, as tutorials write it, is QEMU's short name. */
    if (!g_strcmp0(model, "virtio")) {
        model = "virtio-net-pci";
    }
    nic->location = g_strdup(location);
    nic->model = g_strdup(model ? model : DEFAULT_NIC_MODEL);
    nic->mac = g_strdup(mac);
    nic->netdev = g_strdup(netdev);
    g_ptr_array_add(pending_nics, nic);
    return nic;
}

/* Take @key out of @opts (so netdev_add does not see it). */
static char *vl_take_key(QliteOpts *opts, const char *key)
{
    char *val = g_strdup(qopts_get(opts, key));

    for (guint i = opts->pairs->len; i-- > 0;) {
        KeyvalPair *p = opts->pairs->pdata[i];

        if (!strcmp(p->key, key)) {
            g_ptr_array_remove_index(opts->pairs, i);
        }
    }
    return val;
}

static void vl_netdev_add(VlItem *it)
{
    GError *err = NULL;
    bool hidden = strcmp(it->opt, "netdev") != 0;

    if (!(hidden ? netdev_add_hidden : netdev_add)(it->opts, &err)) {
        vl_net_fail(it->location, err);
    }
}

/* -nic TYPE,model=,mac=,...: a hidden netdev and its NIC. */
static void vl_add_nic(VlItem *it, unsigned index)
{
    g_autofree char *model = vl_take_key(it->opts, "model");
    g_autofree char *mac = vl_take_key(it->opts, "mac");
    g_autofree char *id = NULL;
    const char *type = qopts_get(it->opts, "type");

    if (!g_strcmp0(type, "none")) {
        return;
    }
    if (!qopts_has(it->opts, "id")) {
        id = g_strdup_printf("__org.qemu.nic%u", index);
        qopts_set(it->opts, "id", id);
    } else {
        id = g_strdup(qopts_get(it->opts, "id"));
    }
    vl_netdev_add(it);
    vl_queue_nic(it->location, model, mac, id);
}

/* -net nic / -net TYPE: pair each NIC with the next back end. */
static void vl_add_legacy_net(GPtrArray *nets)
{
    g_autoptr(GPtrArray) backends = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) backend_locs = g_ptr_array_new();
    guint next = 0;

    for (guint i = 0; i < nets->len; i++) {
        VlItem *it = nets->pdata[i];
        const char *type = qopts_get(it->opts, "type");
        g_autofree char *name = NULL;

        if (!g_strcmp0(type, "nic") || !g_strcmp0(type, "none")) {
            continue;
        }
        name = vl_take_key(it->opts, "name");
        if (!qopts_has(it->opts, "id")) {
            g_autofree char *id = name ? g_strdup(name) :
                                  g_strdup_printf("__org.qemu.net%u", i);

            qopts_set(it->opts, "id", id);
        }
        g_ptr_array_add(backends, g_strdup(qopts_get(it->opts, "id")));
        g_ptr_array_add(backend_locs, it->location);
        vl_netdev_add(it);
    }
    for (guint i = 0; i < nets->len; i++) {
        VlItem *it = nets->pdata[i];
        g_autofree char *model = NULL, *mac = NULL, *netdev = NULL;
        g_autofree char *name = NULL;
        GError *err = NULL;

        if (g_strcmp0(qopts_get(it->opts, "type"), "nic")) {
            continue;
        }
        model = vl_take_key(it->opts, "model");
        mac = vl_take_key(it->opts, "macaddr");
        netdev = vl_take_key(it->opts, "netdev");
        name = vl_take_key(it->opts, "name");
        if (!qopts_check_all_used(it->opts, &err)) {
            vl_net_fail(it->location, err);
        }
        if (!netdev && next < backends->len) {
            netdev = g_strdup(backends->pdata[next++]);
        }
        vl_queue_nic(it->location, model, mac, netdev);
    }
    if (next < backends->len && !pending_nics->len) {
        vl_net_fail(backend_locs->pdata[next], g_error_new(QLITE_ERROR, 0,
                    "no '-net nic' to connect this back end to"));
    }
}

void vl_create_netdevs(VlConfig *cfg)
{
    g_autoptr(GPtrArray) nets = g_ptr_array_new();
    bool any = cfg->netdevs->len > 0;

    pending_nics = g_ptr_array_new_with_free_func(vl_nic_free);
    for (guint i = 0; i < cfg->netdevs->len; i++) {
        VlItem *it = cfg->netdevs->pdata[i];

        if (!strcmp(it->opt, "netdev")) {
            vl_netdev_add(it);
        } else if (!strcmp(it->opt, "nic")) {
            vl_add_nic(it, i);
        } else {
            g_ptr_array_add(nets, it);
        }
    }
    vl_add_legacy_net(nets);
    if (!any && !cfg->nodefaults) {
        g_autoptr(QliteOpts) opts = qopts_new("nic");

        qopts_set(opts, "type", "user");
        qopts_set(opts, "id", "__org.qemu.nic0");
        if (!netdev_add_hidden(opts, NULL)) {
            return;     /* built without user networking, as QEMU can be */
        }
        vl_queue_nic(NULL, DEFAULT_NIC_MODEL, NULL,
                     "__org.qemu.nic0")->is_default = true;
    }
}

void vl_create_nics(void)
{
    for (guint i = 0; i < pending_nics->len; i++) {
        VlNic *nic = pending_nics->pdata[i];
        g_autoptr(QliteOpts) opts = qopts_new("device");
        GError *err = NULL;

        qopts_set(opts, "driver", nic->model);
        if (nic->mac) {
            qopts_set(opts, "mac", nic->mac);
        }
        if (nic->netdev) {
            qopts_set(opts, "netdev", nic->netdev);
        }
        if (!qdev_device_add(opts, &err)) {
            if (nic->is_default) {
                /* A board without PCI (-M none): no default network. */
                g_clear_error(&err);
                netdev_del(nic->netdev, NULL);
                continue;
            }
            vl_net_fail(nic->location, err);
        }
    }
    g_clear_pointer(&pending_nics, g_ptr_array_unref);
}

static void vl_warn_unpeered(NetClientState *nc, void *opaque)
{
    if (nc->info->kind != NET_CLIENT_NIC && !nc->peer) {
        warn_report("netdev %s has no peer", nc->name);
    }
}

void vl_check_netdevs_peered(void)
{
    net_client_foreach(vl_warn_unpeered, NULL);
}
