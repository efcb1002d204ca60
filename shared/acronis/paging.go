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
	return cursorList[T]{path, withLimit(query, limit), false, decodePage[T]}.walk(ctx, c)
}

// PagesRepeatingFilters is Pages for the policy v4 list, whose document does
// not say its cursor carries the filters: every page sends query again beside
// after, so page 2 cannot silently widen to everything.
func PagesRepeatingFilters[T any](ctx context.Context, c *Client, path string, query url.Values, limit int) iter.Seq2[[]T, error] {
	return cursorList[T]{path, withLimit(query, limit), true, decodePage[T]}.walk(ctx, c)
}

func withLimit(query url.Values, limit int) url.Values {
	q := maps.Clone(query)
	if q == nil {
		q = url.Values{}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// cursorList is every cursor-paged list: the first request sends first; the
// next ones after and, with repeat, all of first again (filters the cursor is
// not said to carry), else only first's limit (the cursor carries the
// filters, or the document allows nothing else beside after). decode returns
// a page's items and the next cursor.
type cursorList[T any] struct {
	path   string
	first  url.Values
	repeat bool
	decode func([]byte) ([]T, string, error)
}

func (l cursorList[T]) next(after string) url.Values {
	q := url.Values{}
	if l.repeat {
		maps.Copy(q, l.first)
	} else if lim := l.first.Get("limit"); lim != "" {
		q.Set("limit", lim)
	}
	q.Set("after", after)
	return q
}

// walk yields every page's items. A repeated cursor stops the walk instead
// of looping.
func (l cursorList[T]) walk(ctx context.Context, c *Client) iter.Seq2[[]T, error] {
	path, decode := l.path, l.decode
	return func(yield func([]T, error) bool) {
		q, seen := l.first, map[string]bool{}
		for {
			var raw json.RawMessage
			if err := c.Do(ctx, Request{Method: "GET", Path: path, Query: q}, &raw); err != nil {
				yield(nil, err)
				return
			}
			items, after, err := decode(raw)
			if err != nil {
				yield(nil, fmt.Errorf("acronis: GET %s: %w", path, err))
				return
			}
			if len(items) > 0 && !yield(items, nil) {
				return
			}
			// An empty page with a cursor is not the end (a server that
			// filters after paging answers such pages); a cursor seen before is.
			if after == "" {
				return
			}
			if seen[after] {
				yield(nil, fmt.Errorf("acronis: GET %s: cursor repeated; stopping to avoid a loop", path))
				return
			}
			seen[after] = true
			q = l.next(after)
		}
	}
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
