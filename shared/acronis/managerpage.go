package acronis

import (
	"encoding/json"
	"fmt"
)

// managerPage is one answer page of the alert, task and agent managers:
// items (required) and the cursor under paging.cursors; the task manager may
// give it at the top level instead.
type managerPage[V any] struct {
	Items   *[]V `json:"items"`
	Cursors *struct {
		After string `json:"after"`
	} `json:"cursors"`
	Paging *struct {
		Cursors *struct {
			After string `json:"after"`
		} `json:"cursors"`
	} `json:"paging"`
}

// pagingCursor is paging.cursors.after, and whether paging.cursors is there.
func (p *managerPage[V]) pagingCursor() (string, bool) {
	if p.Paging == nil || p.Paging.Cursors == nil {
		return "", false
	}
	return p.Paging.Cursors.After, true
}

// decodeManagerPage reads one page of family's list; a page without items
// is an error.
func decodeManagerPage[V any](b []byte, family string) (managerPage[V], error) {
	var page managerPage[V]
	if err := json.Unmarshal(b, &page); err != nil {
		return page, fmt.Errorf("%s: decode: %w", family, err)
	}
	if page.Items == nil {
		return page, fmt.Errorf("%s: items: missing", family)
	}
	return page, nil
}

// convertItems turns a page's items from their wire shape into the client's
// with conv; an error names the item.
func convertItems[V, T any](items []V, family string, conv func(V) (T, error)) ([]T, error) {
	out := make([]T, 0, len(items))
	for i, v := range items {
		t, err := conv(v)
		if err != nil {
			return nil, fmt.Errorf("%s: items[%d]: %w", family, i, err)
		}
		out = append(out, t)
	}
	return out, nil
}
