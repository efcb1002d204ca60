package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
	"golang.org/x/sync/errgroup"
)

// collection is one run's walk, fetch and write: a walker turns pages of
// tenants into batches for a bounded pool of workers, each worker fetches
// and encodes one batch, and one writer puts the encoded chunks into parts.
type collection struct {
	job       *Job
	res       *Result // date, run id and root: read-only while collecting
	collected string  // collected_at of every line
	// Unbuffered: a worker hands its chunk straight to the writer, so at
	// most one encoded batch per worker is alive.
	chunks  chan chunk
	goneIDs chan string // the first maxListedGone gone tenants

	tenants, empty, gone, dups, items atomic.Int64
	// Batches encode to similar sizes: start each buffer a little above
	// the last one's, instead of doubling up to it from nothing.
	lastSize atomic.Int64
}

// chunk is the encoded lines of one batch.
type chunk struct {
	buf   *bytes.Buffer
	lines int
}

// collect walks, fetches and writes. It fills res's counts and parts.
func (j *Job) collect(ctx context.Context, res *Result, prefix string) error {
	workers, partBytes, limit := j.sizes()
	c := &collection{job: j, res: res, collected: res.StartedAt.Format(time.RFC3339),
		chunks: make(chan chunk), goneIDs: make(chan string, maxListedGone)}
	g, gctx := errgroup.WithContext(ctx)
	pw := &partWriter{ctx: gctx, store: j.Store, prefix: prefix, maxBytes: partBytes}
	g.Go(func() error { return c.write(gctx, pw) })
	g.Go(func() error {
		defer close(c.chunks)
		return c.walk(gctx, workers, limit)
	})
	err := g.Wait()
	close(c.goneIDs)
	for id := range c.goneIDs {
		res.GoneTenantIDs = append(res.GoneTenantIDs, id)
	}
	res.Tenants, res.TenantsWithoutData, res.TenantsGone, res.DuplicatesSkipped = c.tenants.Load(), c.empty.Load(), c.gone.Load(), c.dups.Load()
	res.Items = c.items.Load()
	res.Parts = append(res.Parts, pw.parts...)
	if err == nil && res.Tenants == 0 {
		err = fmt.Errorf("no tenants under %s: not even the root itself is visible", res.RootTenantID)
	}
	return err
}

// sizes are the job's worker count, part size and page size, defaults for
// the ones not set.
func (j *Job) sizes() (workers int, partBytes int64, limit int) {
	workers, partBytes, limit = j.Workers, j.PartBytes, j.PageLimit
	if workers <= 0 {
		workers = DefaultWorkers
	}
	if partBytes <= 0 {
		partBytes = DefaultPartBytes
	}
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	return workers, partBytes, limit
}

// write is the writer: the only goroutine touching the part writer.
func (c *collection) write(ctx context.Context, pw *partWriter) error {
	for ch := range c.chunks {
		if err := pw.write(ch.buf.Bytes()); err != nil {
			return pw.fail(err)
		}
		c.items.Add(int64(ch.lines)) // counted once handed to the part, not when fetched
	}
	if ctx.Err() != nil {
		return pw.fail(ctx.Err())
	}
	return pw.finish()
}

// walk hands the tenants under the root, in batches of up to 100, to a pool
// of workers.
func (c *collection) walk(ctx context.Context, workers, limit int) error {
	pool, pctx := errgroup.WithContext(ctx)
	pool.SetLimit(workers)
	cur := make([]acronis.Tenant, 0, acronis.MaxBatch)
	walkErr := c.eachNewTenant(pctx, limit, func(t acronis.Tenant) {
		cur = append(cur, t)
		if len(cur) == acronis.MaxBatch {
			c.submit(pctx, pool, cur)
			cur = make([]acronis.Tenant, 0, acronis.MaxBatch)
		}
	})
	if walkErr == nil && len(cur) > 0 {
		c.submit(pctx, pool, cur)
	}
	if err := pool.Wait(); err != nil {
		return err
	}
	return walkErr
}

// eachNewTenant walks the tree under the root and hands fn each tenant once.
// Offset cursors over a tree that changes during the walk can show a tenant
// again near a page boundary: it remembers the ids of this page and the one
// before (memory stays flat whatever the size of the tree).
func (c *collection) eachNewTenant(ctx context.Context, limit int, fn func(acronis.Tenant)) error {
	root := c.res.RootTenantID
	seen, prevSeen := map[[16]byte]struct{}{}, map[[16]byte]struct{}{}
	for page, err := range c.job.API.ListTenants(ctx, acronis.TenantFilter{SubtreeRootID: root, Limit: limit}) {
		if err != nil {
			return fmt.Errorf("list tenants under %s: %w", root, err)
		}
		prevSeen, seen = seen, prevSeen
		clear(seen)
		for _, t := range page {
			key, ok := uuidKey(t.ID)
			if !ok {
				return fmt.Errorf("list tenants under %s: tenant id %q is not a UUID", root, inputcheck.Truncate(t.ID, 40))
			}
			_, dup := seen[key]
			if _, dupPrev := prevSeen[key]; dup || dupPrev {
				c.dups.Add(1) // bill it once
				continue
			}
			seen[key] = struct{}{}
			c.tenants.Add(1)
			fn(t)
		}
	}
	return nil
}

// submit has a worker of pool fetch one batch and hand it to the writer.
func (c *collection) submit(ctx context.Context, pool *errgroup.Group, tenants []acronis.Tenant) {
	pool.Go(func() error {
		n := c.lastSize.Load()
		ch, err := c.fetch(ctx, tenants, bytes.NewBuffer(make([]byte, 0, n+n/8)))
		if err != nil {
			return err
		}
		c.lastSize.Store(int64(ch.buf.Len()))
		select {
		case c.chunks <- ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// batchLines encodes one batch's lines into buf, counting them and the
// tenants without usage.
type batchLines struct {
	c       *collection
	buf     *bytes.Buffer
	enc     *json.Encoder
	lines   int
	noUsage int
}

func (b *batchLines) reset() {
	b.buf.Reset()
	b.lines, b.noUsage = 0, 0
}

func (b *batchLines) add(t acronis.Tenant, us []acronis.Usage) error {
	if len(us) == 0 {
		b.noUsage++
	}
	for _, u := range us {
		if u.TenantUUID != "" && u.TenantUUID != t.ID {
			return fmt.Errorf("usage of tenant %s: an item names tenant %s", t.ID, u.TenantUUID)
		}
		if err := b.enc.Encode(makeLine(b.c.res, b.c.collected, t, u)); err != nil {
			return fmt.Errorf("encode usage of tenant %s: %w", t.ID, err)
		}
		b.lines++
	}
	return nil
}

// fetch gets one batch's usage and encodes its lines as the answer streams
// in, one tenant at a time. Tenants missing from the batch answer are asked
// for one by one (fetchMissing).
func (c *collection) fetch(ctx context.Context, tenants []acronis.Tenant, buf *bytes.Buffer) (chunk, error) {
	ids := make([]string, len(tenants))
	index := make(map[string]int, len(tenants))
	for i, t := range tenants {
		ids[i] = t.ID
		index[t.ID] = i
	}
	answered := make([]bool, len(tenants))
	out := &batchLines{c: c, buf: buf, enc: json.NewEncoder(buf)}
	out.enc.SetEscapeHTML(false)
	// An answer cut off mid-way is asked for again from the start,
	// forgetting what its first half wrote.
	err := acronis.AgainIfCut(ctx, func(ctx context.Context) error {
		out.reset()
		clear(answered)
		return c.job.API.EachTenantUsage(ctx, ids, func(tu acronis.TenantUsage) error {
			i, asked := index[tu.Tenant]
			if !asked {
				return nil // not ours to bill
			}
			if answered[i] {
				return fmt.Errorf("the answer lists tenant %s twice", tu.Tenant)
			}
			answered[i] = true
			return out.add(tenants[i], tu.Usages)
		})
	})
	if err != nil {
		return chunk{}, fmt.Errorf("usage of %d tenants from %s: %w", len(ids), ids[0], err)
	}
	if err := c.fetchMissing(ctx, tenants, answered, out); err != nil {
		return chunk{}, err
	}
	c.empty.Add(int64(out.noUsage))
	return chunk{buf: buf, lines: out.lines}, nil
}

// fetchMissing asks for the tenants the batch answer left out one by one: a
// tenant deleted (or moved out of scope) since the walk is counted as gone,
// anything else is an error, so no tenant disappears from a snapshot
// unnoticed.
func (c *collection) fetchMissing(ctx context.Context, tenants []acronis.Tenant, answered []bool, out *batchLines) error {
	for i, t := range tenants {
		if answered[i] {
			continue
		}
		us, err := c.job.API.TenantUsages(ctx, t.ID)
		if acronis.HasStatus(err, 404) || acronis.HasStatus(err, 403) {
			c.gone.Add(1)
			select {
			case c.goneIDs <- t.ID:
			default: // the manifest lists the first few; the count has them all
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("usage of tenant %s (missing from its batch): %w", t.ID, err)
		}
		if err := out.add(t, us); err != nil {
			return err
		}
	}
	return nil
}
