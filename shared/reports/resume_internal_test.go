package reports

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
)

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 100-*/*", 0, 0, false}, // no last byte: not RFC 9110
		{"bytes */200", 0, 0, false},   // unsatisfied-range form
		{"bytes 10-5/200", 0, 0, false},
		{"bytes 10-200/200", 0, 0, false},
		{"bytes -1-5/9", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		start, total, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok || tt.ok && (start != tt.start || total != tt.total) {
			t.Errorf("%q: %d %d %v", tt.in, start, total, err)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 100-199/200", "bytes 5-9/*", "bytes */200", "bytes 1-0/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, total, err := parseContentRange(s)
		if err != nil {
			return
		}
		if start < 0 || total < -1 || total >= 0 && start >= total {
			t.Fatalf("%q accepted as start %d of %d", s, start, total)
		}
	})
}

// answer is one scripted download answer: status, Content-Range, body.
type answer struct {
	status int
	rng    string
	body   string
	err    error // what open returns instead of an answer (the HTTP layer gave up)
}

// The resumer refuses answers that do not continue at the byte it has.
func TestResumerChecksAnswers(t *testing.T) {
	const file = "0123456789"
	tests := []struct {
		name    string
		answers []answer
		want    string // content read, or the error's text
	}{
		{"cut then 206 from the cut", []answer{{200, "", file[:4], nil}, {206, "bytes 4-9/10", file[4:], nil}}, file},
		{"cut then 200 whole: first bytes skipped", []answer{{200, "", file[:4], nil}, {200, "", file, nil}}, file},
		{"206 from the wrong byte", []answer{{200, "", file[:4], nil}, {206, "bytes 3-9/10", file[3:], nil}}, "answered from byte 3"},
		{"206 of another size", []answer{{200, "", file[:4], nil}, {206, "bytes 4-11/12", "456789ab", nil}}, "it changed"},
		{"206 without Content-Range", []answer{{200, "", file[:4], nil}, {206, "", file[4:], nil}}, "Content-Range"},
		{"longer than declared", []answer{{200, "", file + "x", nil}}, "more than the 10"},
		{"no progress", []answer{{200, "", "", nil}, {200, "", "", nil}, {200, "", "", nil}}, "no progress in 3 answers"},
		// The transport retried the 503s already: one more round here would
		// multiply its budget (the script has no answer after the error).
		{"transport gave up on the first answer", []answer{{err: &acronis.APIError{Status: 503}}}, "503"},
		{"transport gave up on a resume", []answer{{200, "", file[:4], nil}, {err: &acronis.APIError{Status: 503}}}, "last cut"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := 0
			r := &resumer{ctx: context.Background(), size: int64(len(file)), min: time.Millisecond, max: time.Second, stallMax: 3,
				deadline: time.Now().Add(time.Minute), sleep: func(context.Context, time.Duration) error { return nil },
				open: func(_ context.Context, from int64) (*http.Response, error) {
					if i >= len(tt.answers) {
						t.Fatalf("answer %d asked for (from %d)", i, from)
					}
					a := tt.answers[i]
					i++
					if a.err != nil {
						return nil, a.err
					}
					h := http.Header{}
					if a.rng != "" {
						h.Set("Content-Range", a.rng)
					}
					return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(&cutAfter{r: strings.NewReader(a.body)})}, nil
				}}
			got, err := io.ReadAll(r)
			if err != nil {
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err %v, want %q", err, tt.want)
				}
				return
			}
			if string(got) != tt.want {
				t.Fatalf("read %q, want %q", got, tt.want)
			}
		})
	}
}

// cutAfter ends with io.ErrUnexpectedEOF, as a connection dropped mid-body.
type cutAfter struct{ r io.Reader }

func (c *cutAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
