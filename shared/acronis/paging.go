package acronis

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
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
	return itemPages[T](path, query, limit, false).run(ctx, c)
}

// PagesRepeatingFilters is Pages for APIs whose documents do not say the
// cursor carries the filters (policy v4, tasks, alerts): every page sends
// query again beside after, so page 2 cannot silently widen to everything.
func PagesRepeatingFilters[T any](ctx context.Context, c *Client, path string, query url.Values, limit int) iter.Seq2[[]T, error] {
	return itemPages[T](path, query, limit, true).run(ctx, c)
}

// itemPages is the walk of a Page[T] list: the first request carries query
// and limit, the next ones after, limit and (when repeat) query again.
func itemPages[T any](path string, query url.Values, limit int, repeat bool) pageWalk[T] {
	first := maps.Clone(query)
	if first == nil {
		first = url.Values{}
	}
	if limit > 0 {
		first.Set("limit", strconv.Itoa(limit))
	}
	next := func(after string) url.Values {
		q := url.Values{}
		if repeat {
			maps.Copy(q, query)
		}
		q.Set("after", after)
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		return q
	}
	return pageWalk[T]{path: path, first: first, decode: decodePage[T], next: next}
}

// decodePage reads one Page[T]. An empty page ends these lists even when it
// carries a cursor (unlike the alert and task managers' walks).
func decodePage[T any](b []byte) ([]T, string, error) {
	if len(b) == 0 { // 204 No Content
		return nil, "", nil
	}
	var p Page[T]
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, "", fmt.Errorf("decode response: %w", err)
	}
	if len(p.Items) == 0 {
		return nil, "", nil
	}
	return p.Items, p.Paging.Cursors.After, nil
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
