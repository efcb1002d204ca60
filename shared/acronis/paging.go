package acronis

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
)

// Page is the platform's cursor page: items plus paging.cursors.after. The
// same shape serves account management, tasks, alerts and policy v4.
type Page[T any] struct {
	Items  []T `json:"items"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
			Total *int   `json:"total,omitempty"`
		} `json:"cursors"`
	} `json:"paging"`
}

// Pages walks a cursor-paged list to its last page, yielding each page's
// items. The first request carries query; the next ones only limit and after,
// because the account-management cursor carries the filters ("The cursor
// encodes all the filtering and sorting arguments, thus client does not need
// to provide all them for the next page"). Not following the cursor silently
// truncates lists at the server's page size.
func Pages[T any](ctx context.Context, c *Client, path string, query url.Values, limit int) iter.Seq2[[]T, error] {
	return pages[T](ctx, c, path, query, limit, false)
}

// PagesRepeatingFilters is Pages for APIs whose documents do not say the
// cursor carries the filters (policy v4, tasks, alerts): every page sends
// query again beside after, so page 2 cannot silently widen to everything.
func PagesRepeatingFilters[T any](ctx context.Context, c *Client, path string, query url.Values, limit int) iter.Seq2[[]T, error] {
	return pages[T](ctx, c, path, query, limit, true)
}

func pages[T any](ctx context.Context, c *Client, path string, query url.Values, limit int, repeat bool) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		seen := map[string]bool{}
		for {
			var p Page[T]
			if err := c.Do(ctx, "GET", path, q, nil, &p); err != nil {
				yield(nil, err)
				return
			}
			if len(p.Items) > 0 && !yield(p.Items, nil) {
				return
			}
			next := p.Paging.Cursors.After
			if next == "" || len(p.Items) == 0 {
				return
			}
			if seen[next] {
				// A server that hands back a cursor twice would loop forever.
				yield(nil, fmt.Errorf("acronis: GET %s: cursor repeated; stopping to avoid a loop", path))
				return
			}
			seen[next] = true
			q = nextPageQuery(query, next, limit, repeat)
		}
	}
}

func nextPageQuery(query url.Values, after string, limit int, repeat bool) url.Values {
	q := url.Values{}
	if repeat {
		for k, v := range query {
			q[k] = v
		}
	}
	q.Set("after", after)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// All collects every item of a cursor-paged list.
func All[T any](ctx context.Context, c *Client, path string, query url.Values, limit int) ([]T, error) {
	var out []T
	for items, err := range Pages[T](ctx, c, path, query, limit) {
		if err != nil {
			return out, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// MaxBatch is the platform's limit on ids in one filter (uuids=, tenants=, or(...)).
const MaxBatch = 100

// Batches splits ids into consecutive slices of at most n (n <= 0 or above
// MaxBatch means MaxBatch). The slices share ids' backing array.
func Batches(ids []string, n int) [][]string {
	if n <= 0 || n > MaxBatch {
		n = MaxBatch
	}
	out := make([][]string, 0, (len(ids)+n-1)/n)
	for len(ids) > 0 {
		k := min(n, len(ids))
		out = append(out, ids[:k:k])
		ids = ids[k:]
	}
	return out
}
