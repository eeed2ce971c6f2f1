/*
 * Network commands, QMP and HMP: set_link, netdev_add/netdev_del,
 * query-rx-filter, "info network", hostfwd_add/hostfwd_remove.
 */
#include "monitor-internal.h"
#include "qlite/error.h"
#include "qlite/net.h"

/* ---- QMP ---------------------------------------------------------------- */

json_t *qmp_cmd_set_link(QmpSession *s, json_t *a, GError **errp)
{
    return net_set_link(qmp_arg_str(a, "name"), qmp_arg_bool(a, "up", false),
                        errp) ? json_object() : NULL;
}

/* A scalar as -netdev would spell it. */
static char *netdev_value_string(const char *key, json_t *v, GError **errp)
{
    if (json_is_string(v)) {
        return g_strdup(json_string_value(v));
    }
    if (json_is_integer(v)) {
        return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    if (json_is_boolean(v)) {
        return g_strdup(json_is_true(v) ? "on" : "off");
    }
    /* hostfwd/guestfwd: [{"str": "..."}] as QEMU's String lists. */
    if (json_is_object(v) && json_is_string(json_object_get(v, "str"))) {
        return g_strdup(json_string_value(json_object_get(v, "str")));
    }
    error_setg(errp, "Parameter '%s' has an invalid type", key);
    return NULL;
}

json_t *qmp_cmd_netdev_add(QmpSession *s, json_t *a, GError **errp)
{
    g_autoptr(QliteOpts) opts = qopts_new("netdev");
    const char *key;
    json_t *v;

    json_object_foreach(a, key, v) {
        json_t *item;
        size_t i;

        if (json_is_array(v)) {
            json_array_foreach(v, i, item) {
                g_autofree char *val = netdev_value_string(key, item, errp);

                if (!val) {
                    return NULL;
                }
                qopts_append(opts, key, val);
            }
            continue;
        }
        g_autofree char *val = netdev_value_string(key, v, errp);

        if (!val) {
            return NULL;
        }
        qopts_append(opts, key, val);
    }
    return netdev_add(opts, errp) ? json_object() : NULL;
}

json_t *qmp_cmd_netdev_del(QmpSession *s, json_t *a, GError **errp)
{
    return netdev_del(qmp_arg_str(a, "id"), errp) ? json_object() : NULL;
}

static const char *rx_state_name(NetRxState st)
{
    static const char *const names[] = {
        [RX_STATE_NORMAL] = "normal",
        [RX_STATE_NONE] = "none",
        [RX_STATE_ALL] = "all",
    };

    return names[st];
}

static char *mac_string(const uint8_t *m)
{
    return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x",
                           m[0], m[1], m[2], m[3], m[4], m[5]);
}

static json_t *mac_table_json(GArray *table)
{
    json_t *list = json_array();

    for (guint i = 0; i < table->len; i++) {
        g_autofree char *mac = mac_string(
            (const uint8_t *)table->data + i * ETH_ALEN);

        json_array_append_new(list, json_string(mac));
    }
    return list;
}

static json_t *rx_filter_json(NetClientState *nc)
{
    g_autofree char *main_mac = NULL;
    NetRxFilter f;
    json_t *o = json_object();
    json_t *vlans = json_array();

    net_nic_query_rx_filter(nc, &f);
    main_mac = mac_string(f.main_mac);
    json_object_set_new(o, "name", json_string(nc->name));
    json_object_set_new(o, "promiscuous", json_boolean(f.promiscuous));
    json_object_set_new(o, "multicast",
                        json_string(rx_state_name(f.multicast)));
    json_object_set_new(o, "unicast", json_string(rx_state_name(f.unicast)));
    json_object_set_new(o, "vlan", json_string(rx_state_name(f.vlan)));
    json_object_set_new(o, "broadcast-allowed",
                        json_boolean(f.broadcast_allowed));
    json_object_set_new(o, "multicast-overflow",
                        json_boolean(f.multicast_overflow));
    json_object_set_new(o, "unicast-overflow",
                        json_boolean(f.unicast_overflow));
    json_object_set_new(o, "main-mac", json_string(main_mac));
    for (guint i = 0; i < f.vlan_table->len; i++) {
        json_array_append_new(vlans, json_integer(
            g_array_index(f.vlan_table, unsigned, i)));
    }
    json_object_set_new(o, "vlan-table", vlans);
    json_object_set_new(o, "unicast-table", mac_table_json(f.unicast_table));
    json_object_set_new(o, "multicast-table",
                        mac_table_json(f.multicast_table));
    net_rx_filter_clear(&f);
    return o;
}

static void rx_filter_add_nic(NetClientState *nc, void *opaque)
{
    if (nc->info->kind == NET_CLIENT_NIC && nc->info->query_rx_filter) {
        json_array_append_new(opaque, rx_filter_json(nc));
    }
}

json_t *qmp_cmd_query_rx_filter(QmpSession *s, json_t *a, GError **errp)
{
    const char *name = qmp_arg_str(a, "name");
    json_t *list = json_array();
    NetClientState *nc;

    if (!name) {
        net_client_foreach(rx_filter_add_nic, list);
        return list;
    }
    nc = net_client_find(name);
    if (!nc) {
        error_setg(errp, "invalid net client name: %s", name);
    } else if (nc->info->kind != NET_CLIENT_NIC) {
        error_setg(errp, "net client(%s) isn't a NIC", name);
    } else if (!nc->info->query_rx_filter) {
        error_setg(errp, "net client(%s) doesn't support rx-filter "
                   "querying", name);
    } else {
        json_array_append_new(list, rx_filter_json(nc));
        return list;
    }
    json_decref(list);
    return NULL;
}

/* ---- HMP ---------------------------------------------------------------- */

static const char *net_kind_name(NetClientState *nc)
{
    switch (nc->info->kind) {
    case NET_CLIENT_NIC:
        return "nic";
    case NET_CLIENT_USER:
        return "user";
    case NET_CLIENT_TAP:
        return "tap";
    }
    return "?";
}

static void hmp_print_client(GString *out, const char *indent,
                             NetClientState *nc)
{
    g_string_append_printf(out, "%s%s: index=0,type=%s,%s\n", indent,
                           nc->name, net_kind_name(nc), nc->info_str);
    if (nc->link_down) {
        g_string_append_printf(out, "%slink=down\n", indent);
    }
}

/* NICs with their back ends under them, then back ends on their own. */
static void hmp_network_nic(NetClientState *nc, void *opaque)
{
    if (nc->info->kind == NET_CLIENT_NIC) {
        hmp_print_client(opaque, "", nc);
        if (nc->peer) {
            hmp_print_client(opaque, " \\ ", nc->peer);
        }
    }
}

static void hmp_network_lone(NetClientState *nc, void *opaque)
{
    if (nc->info->kind != NET_CLIENT_NIC && !nc->peer) {
        hmp_print_client(opaque, "", nc);
    }
}

void hmp_info_network(GString *out, const char *args, int cpu_index)
{
    net_client_foreach(hmp_network_nic, out);
    net_client_foreach(hmp_network_lone, out);
}

static void hmp_report(GString *out, GError *err)
{
    if (err) {
        g_string_append_printf(out, "Error: %s\n", err->message);
        g_error_free(err);
    }
}

/* "[netdev_id] rule": no id means the first user network back end. */
static void hmp_hostfwd(GString *out, const char *args, bool add)
{
    g_auto(GStrv) words = g_strsplit_set(args, " \t", -1);
    g_autoptr(GPtrArray) w = g_ptr_array_new();
    GError *err = NULL;

    for (char **p = words; *p; p++) {
        if (**p) {
            g_ptr_array_add(w, *p);
        }
    }
    if (w->len < 1 || w->len > 2) {
        g_string_append_printf(out, "usage: hostfwd_%s [netdev_id] rule\n",
                               add ? "add" : "remove");
        return;
    }
    const char *id = w->len == 2 ? w->pdata[0] : NULL;
    const char *rule = w->pdata[w->len - 1];

    if (add) {
        net_slirp_hostfwd_add(id, rule, &err);
    } else {
        net_slirp_hostfwd_remove(id, rule, &err);
    }
    hmp_report(out, err);
}

void hmp_hostfwd_add(GString *out, const char *args, int cpu_index)
{
    hmp_hostfwd(out, args, true);
}

void hmp_hostfwd_remove(GString *out, const char *args, int cpu_index)
{
    hmp_hostfwd(out, args, false);
}

void hmp_set_link(GString *out, const char *args, int cpu_index)
{
    g_auto(GStrv) w = g_strsplit(args, " ", -1);
    GError *err = NULL;
    bool up;

    if (g_strv_length(w) != 2 ||
        !keyval_parse_bool("up", w[1], &up, &err)) {
        g_clear_error(&err);
        g_string_append(out, "usage: set_link name on|off\n");
        return;
    }
    net_set_link(w[0], up, &err);
    hmp_report(out, err);
}

void hmp_netdev_add(GString *out, const char *args, int cpu_index)
{
    GError *err = NULL;
    g_autoptr(QliteOpts) opts = keyval_parse(args, "type", 0, &err);

    if (opts) {
        netdev_add(opts, &err);
    }
    hmp_report(out, err);
}

void hmp_netdev_del(GString *out, const char *args, int cpu_index)
{
    GError *err = NULL;

    netdev_del(args, &err);
    hmp_report(out, err);
}
