/*
 * Allocating writes with their data written outside the qcow2 lock.
 *
 * Under the lock a write gets fresh host clusters (their refcounts set
 * in the refcount cache) and registers the guest clusters as in flight;
 * the data goes to the file with the lock dropped, so requests to other
 * clusters allocate and write at the same time; then, under the lock
 * again, the L2 entries point at the new clusters.  Crash safety is
 * that of a write under the lock: the L2 cache writes the refcount
 * blocks (and syncs) before any L2 table, and an L2 entry is set only
 * once its data is written.  A write, zeroing or discard that touches a
 * cluster in flight waits until that allocation is finished, so two
 * allocations never race for one guest cluster.
 */
#include "qcow2.h"

static bool qcow2_inflight_overlaps(BDRVQcow2State *s, uint64_t offset,
                                    uint64_t bytes)
{
    for (GList *l = s->inflight; l; l = l->next) {
        Qcow2Inflight *f = l->data;
        if (offset < f->end && offset + bytes > f->start) {
            return true;
        }
    }
    return false;
}

void qcow2_inflight_wait_locked(BDRVQcow2State *s, uint64_t offset,
                                uint64_t bytes)
{
    while (qcow2_inflight_overlaps(s, offset, bytes)) {
        g_cond_wait(&s->alloc_done, &s->lock);
    }
}

/* For whole-image changes (resize, snapshots): no allocation in flight. */
void qcow2_inflight_drain_locked(BDRVQcow2State *s)
{
    while (s->inflight) {
        g_cond_wait(&s->alloc_done, &s->lock);
    }
}

/*
 * The data of the piece, without the lock.  Fresh clusters lie past the
 * old end of the file and read as zero already: only the data goes out.
 * Reused ones get whole clusters, zero-filled around the data.
 */
static int qcow2_inflight_write_data(BlockDriverState *bs,
                                     const Qcow2WriteMap *m, uint64_t offset,
                                     const uint8_t *buf)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t head = offset - m->first;
    uint64_t len = (uint64_t)m->n << s->cluster_bits;
    uint8_t *cl;
    int ret;

    if (m->fresh || (head == 0 && m->done == len)) {
        return bdrv_pwrite(bs->file, m->host + head, m->done, buf, 0);
    }
    cl = g_malloc0(len);
    memcpy(cl + head, buf, m->done);
    ret = bdrv_pwrite(bs->file, m->host, len, cl, 0);
    g_free(cl);
    return ret;
}

/* Called with the lock held, returns with it held (dropped meanwhile). */
int qcow2_inflight_write(BlockDriverState *bs, const Qcow2WriteMap *m,
                         uint64_t offset, const uint8_t *buf)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Inflight f = {
        .start = m->first,
        .end = m->first + ((uint64_t)m->n << s->cluster_bits),
    };
    int ret;

    s->inflight = g_list_prepend(s->inflight, &f);
    g_mutex_unlock(&s->lock);
    ret = qcow2_inflight_write_data(bs, m, offset, buf);
    g_mutex_lock(&s->lock);
    if (ret == 0) {
        ret = qcow2_alloc_finish(bs, m);
    }
    if (ret < 0) {
        /* Nothing points at the clusters: give them back. */
        qcow2_free_clusters_deferred(bs, m->host, f.end - f.start);
    }
    s->inflight = g_list_remove(s->inflight, &f);
    g_cond_broadcast(&s->alloc_done);
    return ret;
}
