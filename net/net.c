/*
 * The network core: clients, peers, and the queue a frame waits in when
 * its receiver cannot take it yet.  See include/qlite/net.h.
 */
#include "qlite/iov.h"
#include "qlite/net.h"
#include "qlite/error.h"
#include "qlite/object.h"
#include "qlite/runstate.h"

#include <jansson.h>

struct NetQueuedPacket {
    NetClientState *sender;
    NetPacketSent *sent_cb;
    size_t len;
    uint8_t data[];
};

static GPtrArray *clients;          /* of NetClientState *, in creation order */
static GPtrArray *backend_types;    /* of const NetBackendType * */
static unsigned nic_count;          /* MACs handed out so far */

static GPtrArray *client_list(void)
{
    if (!clients) {
        clients = g_ptr_array_new();
    }
    return clients;
}

NetClientState *net_client_new(const NetClientInfo *info, const char *name,
                               const char *model, void *opaque)
{
    NetClientState *nc = g_new0(NetClientState, 1);

    nc->info = info;
    nc->name = g_strdup(name);
    nc->model = g_strdup(model);
    nc->info_str = g_strdup("");
    nc->opaque = opaque;
    nc->rx_filter_notify = true;
    g_queue_init(&nc->incoming);
    g_ptr_array_add(client_list(), nc);
    return nc;
}

/* Drop frames waiting at @rx; only those from @sender unless it is NULL. */
static void net_queue_purge(NetClientState *rx, NetClientState *sender)
{
    GList *l = rx->incoming.head;

    while (l) {
        GList *next = l->next;
        NetQueuedPacket *p = l->data;

        if (!sender || p->sender == sender) {
            g_queue_delete_link(&rx->incoming, l);
            g_free(p);
        }
        l = next;
    }
}

void net_client_free(NetClientState *nc)
{
    if (!nc) {
        return;
    }
    if (nc->peer) {
        net_queue_purge(nc->peer, nc);
        nc->peer->peer = NULL;
        nc->peer = NULL;
    }
    net_queue_purge(nc, NULL);
    g_ptr_array_remove(client_list(), nc);
    if (nc->info->cleanup) {
        nc->info->cleanup(nc);
    }
    g_free(nc->name);
    g_free(nc->model);
    g_free(nc->info_str);
    g_free(nc);
}

void net_client_set_info_str(NetClientState *nc, const char *fmt, ...)
{
    va_list ap;

    g_free(nc->info_str);
    va_start(ap, fmt);
    nc->info_str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

NetClientState *net_client_find(const char *name)
{
    GPtrArray *all = client_list();

    for (guint i = 0; i < all->len; i++) {
        NetClientState *nc = all->pdata[i];

        if (!g_strcmp0(nc->name, name)) {
            return nc;
        }
    }
    return NULL;
}

void net_client_foreach(void (*fn)(NetClientState *nc, void *opaque),
                        void *opaque)
{
    /* A copy: @fn may free clients. */
    g_autoptr(GPtrArray) all = g_ptr_array_copy(client_list(), NULL, NULL);

    for (guint i = 0; i < all->len; i++) {
        fn(all->pdata[i], opaque);
    }
}

static void net_link_changed(NetClientState *nc, bool up)
{
    nc->link_down = !up;
    if (nc->info->link_status_changed) {
        nc->info->link_status_changed(nc);
    }
}

bool net_set_link(const char *name, bool up, GError **errp)
{
    NetClientState *nc = net_client_find(name);

    if (!nc) {
        error_setg(errp, "Device '%s' not found", name);
        return false;
    }
    /* The cable is between the two: both ends see it. */
    net_link_changed(nc, up);
    if (nc->peer) {
        net_link_changed(nc->peer, up);
    }
    return true;
}

/* ---- delivery ---------------------------------------------------------- */

static bool net_client_can_receive(NetClientState *nc)
{
    return !nc->info->can_receive || nc->info->can_receive(nc);
}

bool net_peer_can_receive(NetClientState *nc)
{
    return nc->peer && !nc->peer->link_down &&
           net_client_can_receive(nc->peer);
}

static void net_queue_append(NetClientState *rx, NetClientState *sender,
                             const struct iovec *iov, int iovcnt,
                             size_t len, NetPacketSent *sent_cb)
{
    NetQueuedPacket *p;

    if (rx->incoming.length >= NET_QUEUE_MAX) {
        if (!rx->dropped++) {
            warn_report("net: %s: receive queue full, dropping frames",
                        rx->name);
        }
        return;
    }
    p = g_malloc(sizeof(*p) + len);
    p->sender = sender;
    p->sent_cb = sent_cb;
    p->len = iov_to_buf(iov, iovcnt, 0, p->data, len);
    g_queue_push_tail(&rx->incoming, p);
}

ssize_t net_send_iov(NetClientState *sender, const struct iovec *iov,
                     int iovcnt, NetPacketSent *sent_cb)
{
    NetClientState *rx = sender->peer;
    size_t len = iov_size(iov, iovcnt);
    ssize_t ret;

    /* No cable or a pulled one: the frame is gone, as on the wire. */
    if (!rx || sender->link_down || rx->link_down) {
        return len;
    }
    /* Keep order: behind frames already waiting, or while it can't take. */
    if (rx->incoming.length || rx->flushing ||
        !net_client_can_receive(rx)) {
        net_queue_append(rx, sender, iov, iovcnt, len, sent_cb);
        return 0;
    }
    ret = rx->info->receive(rx, iov, iovcnt);
    if (ret == 0) {
        net_queue_append(rx, sender, iov, iovcnt, len, sent_cb);
        return 0;
    }
    return ret < 0 ? (ssize_t)len : ret;
}

ssize_t net_send(NetClientState *sender, const void *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return net_send_iov(sender, &iov, 1, NULL);
}

void net_flush_queued(NetClientState *nc)
{
    if (nc->flushing) {
        return;
    }
    nc->flushing = true;
    while (!g_queue_is_empty(&nc->incoming)) {
        NetQueuedPacket *p = g_queue_peek_head(&nc->incoming);
        struct iovec iov = { .iov_base = p->data, .iov_len = p->len };
        ssize_t ret;

        if (!nc->link_down) {
            if (!net_client_can_receive(nc)) {
                break;
            }
            ret = nc->info->receive(nc, &iov, 1);
            if (ret == 0) {
                break;
            }
        }
        g_queue_pop_head(&nc->incoming);
        /* The sender may send more from here: it goes to the tail. */
        if (p->sent_cb && p->sender) {
            p->sent_cb(p->sender, p->len);
        }
        g_free(p);
    }
    nc->flushing = false;
}

void net_purge_sent(NetClientState *sender)
{
    if (sender->peer) {
        net_queue_purge(sender->peer, sender);
    }
}

/* IP's 16-bit length less room for the largest IP and TCP headers. */
#define NET_WHOLE_TSO_MSS   (65535 - 60 - 60)

unsigned net_peer_tso_mss(NetClientState *nc, unsigned mss)
{
    if (mss && nc->peer && nc->peer->info->takes_whole_tso) {
        return MAX(mss, NET_WHOLE_TSO_MSS);
    }
    return mss;
}

/* ---- vnet header ------------------------------------------------------- */

bool net_peer_has_vnet_hdr(NetClientState *nc)
{
    return nc->peer && nc->peer->info->has_vnet_hdr &&
           nc->peer->info->has_vnet_hdr(nc->peer);
}

void net_peer_using_vnet_hdr(NetClientState *nc, bool on)
{
    if (net_peer_has_vnet_hdr(nc) && nc->peer->info->using_vnet_hdr) {
        nc->peer->info->using_vnet_hdr(nc->peer, on);
    }
}

void net_peer_set_offload(NetClientState *nc, const NetOffloads *o)
{
    if (net_peer_has_vnet_hdr(nc) && nc->peer->info->set_offload) {
        nc->peer->info->set_offload(nc->peer, o);
    }
}

/* ---- NICs -------------------------------------------------------------- */

static bool mac_is_zero(const uint8_t *mac)
{
    static const uint8_t zero[ETH_ALEN];

    return !memcmp(mac, zero, ETH_ALEN);
}

static bool mac_in_use(const uint8_t *mac)
{
    GPtrArray *all = client_list();

    for (guint i = 0; i < all->len; i++) {
        NetClientState *nc = all->pdata[i];

        if (nc->info->kind == NET_CLIENT_NIC &&
            !memcmp(nc->mac, mac, ETH_ALEN)) {
            return true;
        }
    }
    return false;
}

/* 52:54:00:12:34:56 onwards, as QEMU numbers its NICs. */
static void net_generate_mac(uint8_t *mac)
{
    static const uint8_t base[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34,
                                            0x56 };

    do {
        memcpy(mac, base, ETH_ALEN);
        mac[5] = base[5] + nic_count++;
    } while (mac_in_use(mac) && nic_count < 256);
}

static void net_nic_format_info(NetClientState *nc)
{
    net_client_set_info_str(nc, "model=%s,macaddr=%02x:%02x:%02x:%02x:%02x:%02x",
                            nc->model, nc->mac[0], nc->mac[1], nc->mac[2],
                            nc->mac[3], nc->mac[4], nc->mac[5]);
}

NetClientState *net_nic_new(DeviceState *dev, NICConf *conf,
                            const NetClientInfo *info, const char *model,
                            void *opaque, GError **errp)
{
    NetClientState *peer = NULL, *nc;
    g_autofree char *name = NULL;

    if (conf->netdev && *conf->netdev) {
        peer = net_client_find(conf->netdev);
        if (!peer || peer->info->kind == NET_CLIENT_NIC) {
            error_setg(errp, "Property '%s.netdev' can't find value '%s'",
                       model, conf->netdev);
            return NULL;
        }
        if (peer->peer) {
            error_setg(errp, "Property '%s.netdev' can't use value '%s', "
                       "it is in use by %s", model, conf->netdev,
                       peer->peer->name);
            return NULL;
        }
    }
    if (mac_is_zero(conf->macaddr)) {
        net_generate_mac(conf->macaddr);
    }
    if (dev->id) {
        name = g_strdup(dev->id);
    } else {
        /* e1000.0, e1000.1 ...: the first name not taken. */
        for (unsigned i = 0; !name || net_client_find(name); i++) {
            g_free(name);
            name = g_strdup_printf("%s.%u", model, i);
        }
    }
    nc = net_client_new(info, name, model, opaque);
    nc->dev = dev;
    memcpy(nc->mac, conf->macaddr, ETH_ALEN);
    net_nic_format_info(nc);
    if (peer) {
        nc->peer = peer;
        peer->peer = nc;
    }
    return nc;
}

void net_nic_set_mac(NetClientState *nc, const uint8_t *mac)
{
    memcpy(nc->mac, mac, ETH_ALEN);
    net_nic_format_info(nc);
}

void net_nic_rx_filter_changed(NetClientState *nc)
{
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;
    json_t *data;

    if (!nc->rx_filter_notify) {
        return;
    }
    nc->rx_filter_notify = false;
    data = json_object();
    if (nc->dev && nc->dev->id) {
        json_object_set_new(data, "name", json_string(nc->dev->id));
    }
    if (nc->dev) {
        path = object_get_canonical_path(OBJECT(nc->dev));
        json_object_set_new(data, "path", json_string(path));
    }
    text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(data);
    qlite_event_emit("NIC_RX_FILTER_CHANGED", text);
}

void net_nic_query_rx_filter(NetClientState *nc, NetRxFilter *f)
{
    memset(f, 0, sizeof(*f));
    f->vlan_table = g_array_new(false, false, sizeof(unsigned));
    f->unicast_table = g_array_new(false, false, ETH_ALEN);
    f->multicast_table = g_array_new(false, false, ETH_ALEN);
    memcpy(f->main_mac, nc->mac, ETH_ALEN);
    f->broadcast_allowed = true;
    if (nc->info->query_rx_filter) {
        nc->info->query_rx_filter(nc, f);
    }
    nc->rx_filter_notify = true;
}

void net_rx_filter_clear(NetRxFilter *f)
{
    g_clear_pointer(&f->vlan_table, g_array_unref);
    g_clear_pointer(&f->unicast_table, g_array_unref);
    g_clear_pointer(&f->multicast_table, g_array_unref);
}

/* ---- back ends --------------------------------------------------------- */

void net_backend_register(const NetBackendType *t)
{
    if (!backend_types) {
        backend_types = g_ptr_array_new();
    }
    g_ptr_array_add(backend_types, (gpointer)t);
}

static const NetBackendType *net_backend_find(const char *type)
{
    for (guint i = 0; backend_types && i < backend_types->len; i++) {
        const NetBackendType *t = backend_types->pdata[i];

        if (!strcmp(t->type, type)) {
            return t;
        }
    }
    return NULL;
}

static NetClientState *netdev_create(QliteOpts *opts, bool hidden_id_ok,
                                     GError **errp)
{
    const char *type = qopts_get(opts, "type");
    const char *id = qopts_get(opts, "id");
    const NetBackendType *t;
    NetClientState *nc;

    if (!type) {
        error_setg(errp, "Parameter 'type' is missing");
        return NULL;
    }
    t = net_backend_find(type);
    if (!t) {
        error_setg(errp, "Parameter 'type' does not accept value '%s'",
                   type);
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    /*
     * -nic and -net name their hidden netdevs __org.qemu.*, as QEMU does:
     * ids no user's -netdev or netdev_add can take.
     */
    if (!keyval_id_wellformed(id) &&
        !(hidden_id_ok && g_str_has_prefix(id, "__org.qemu."))) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return NULL;
    }
    if (net_client_find(id)) {
        error_setg(errp, "Duplicate ID '%s' for netdev", id);
        return NULL;
    }
    nc = t->init(opts, id, errp);
    if (!nc) {
        return NULL;
    }
    if (!qopts_check_all_used(opts, errp)) {
        net_client_free(nc);
        return NULL;
    }
    return nc;
}

NetClientState *netdev_add(QliteOpts *opts, GError **errp)
{
    return netdev_create(opts, false, errp);
}

NetClientState *netdev_add_hidden(QliteOpts *opts, GError **errp)
{
    return netdev_create(opts, true, errp);
}

bool netdev_del(const char *id, GError **errp)
{
    NetClientState *nc = net_client_find(id);

    if (!nc || nc->info->kind == NET_CLIENT_NIC) {
        error_setg(errp, "Device '%s' not found", id);
        return false;
    }
    net_client_free(nc);
    return true;
}
