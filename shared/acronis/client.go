// Package acronis is a small client for the Acronis Cyber Platform: token
// handling, one error type for every error shape, retries and cursor paging,
// and one file per resource family.
package acronis

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/httpretry"
)

// DefaultUserAgent follows Acronis's request that integrations name
// themselves: <product>/<version> <comment>.
const DefaultUserAgent = "acp-serverless/1.0 (MSP automation on AWS Lambda)"

// HTTPOptions shape the HTTP client every Acronis call goes through. Zero
// durations take the defaults below.
type HTTPOptions struct {
	UserAgent string
	Retry     httpretry.Policy
	// Base is the innermost transport; nil means httpretry.DefaultBase (its
	// connect, TLS and header timeouts) tuned for one busy host. A Base
	// brings its own timeouts.
	Base                  http.RoundTripper
	ResponseHeaderTimeout time.Duration // request sent to headers received; default DefaultBase's
	// Timeout bounds a whole call: retries, redirects and reading the answer.
	// Default 10 minutes: a large report streams for minutes, and the
	// context (the Lambda deadline) usually ends a call sooner.
	Timeout time.Duration
}

// DefaultHTTPTimeout bounds a whole call when HTTPOptions.Timeout is zero.
const DefaultHTTPTimeout = 10 * time.Minute

// NewHTTPClient returns a client with connect/TLS/header/total timeouts,
// retries (httpretry: credentials dropped on a redirect off the origin) and a
// User-Agent on every request.
func NewHTTPClient(o HTTPOptions) *http.Client {
	base := o.Base
	if base == nil {
		tr := httpretry.DefaultBase()
		tr.MaxIdleConnsPerHost = 64 // the usage job's workers share one host
		if o.ResponseHeaderTimeout > 0 {
			tr.ResponseHeaderTimeout = o.ResponseHeaderTimeout
		}
		base = tr
	}
	return &http.Client{
		Transport: userAgent{ua: cmp.Or(o.UserAgent, DefaultUserAgent), next: httpretry.NewTransport(base, o.Retry)},
		Timeout:   cmp.Or(o.Timeout, DefaultHTTPTimeout),
	}
}

type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("User-Agent") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", u.ua)
	}
	return u.next.RoundTrip(r)
}

// Client calls the platform with a bearer token from its TokenSource.
type Client struct {
	base   string
	http   *http.Client
	tokens TokenSource
}

// NewClient checks baseURL (the data centre, e.g. https://eu2-cloud.acronis.com).
func NewClient(baseURL string, tokens TokenSource, hc *http.Client) (*Client, error) {
	if err := CheckBaseURL(baseURL); err != nil {
		return nil, fmt.Errorf("acronis: base URL: %w", err)
	}
	if tokens == nil {
		return nil, errors.New("acronis: token source is nil")
	}
	if hc == nil {
		hc = NewHTTPClient(HTTPOptions{})
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: hc, tokens: tokens}, nil
}

// BaseURL is the data centre this client talks to.
func (c *Client) BaseURL() string { return c.base }

// ErrAnswerCut means the connection ended after the status and headers but
// before the whole answer arrived. Do sends idempotent calls again; callers
// of streaming calls decide for themselves.
var ErrAnswerCut = errors.New("answer cut off")

// cutAttempts is how often a call whose answers keep being cut off is sent.
const cutAttempts = 3

// AgainIfCut runs call again (three times in all at most) while it fails
// with ErrAnswerCut, ctx is live and the retry budget (httpretry.Budget) has
// attempts left. call gets a ctx that carries that budget (ctx's own, or a new
// one), so the transport's retries and these are bounded together; it must
// send with that ctx and start from scratch each time: whatever it built from
// a cut answer is incomplete.
func AgainIfCut(ctx context.Context, call func(ctx context.Context) error) error {
	ctx = httpretry.SharedBudget(ctx)
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if attempt == cutAttempts || !errors.Is(err, ErrAnswerCut) || ctx.Err() != nil || httpretry.Exhausted(ctx) {
			return err
		}
	}
}

// Request is one call to the platform: the method, the path below the base
// URL, the query, a JSON body (nil for none) and extra headers (a Range for a
// download).
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Body   any
	Header http.Header
}

// Do sends r and decodes a JSON answer into out (which may be nil). Any
// non-2xx becomes an *APIError. A 401 invalidates the token and the call is
// retried once with a fresh one; an idempotent call whose answer is cut off is
// sent again. The transport's retries and these share one budget
// (httpretry.Budget): a call that keeps failing makes at most MaxAttempts
// requests, plus one when a 401 comes last.
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	ctx = httpretry.SharedBudget(ctx)
	call := func(ctx context.Context) error { return c.do(ctx, r, out) }
	if !repeatable(ctx, r.Method) {
		return call(ctx)
	}
	return AgainIfCut(ctx, call)
}

func (c *Client) do(ctx context.Context, r Request, out any) error {
	resp, err := c.send(ctx, r, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	// Read to the end before decoding: a cut-off answer is then told apart
	// from a malformed one, out is untouched by it, and the keep-alive
	// connection is reused (a body closed before EOF costs a new dial).
	b, err := readAnswer(resp)
	if err != nil {
		return fmt.Errorf("acronis: %s %s: %w", r.Method, r.Path, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("acronis: %s %s: decode response: %w", r.Method, r.Path, err)
	}
	return nil
}

// readAnswer reads a whole answer, sized from Content-Length when given.
func readAnswer(resp *http.Response) ([]byte, error) {
	var size int64
	if resp.ContentLength > 0 && resp.ContentLength <= 64<<20 {
		size = resp.ContentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAnswerCut, err)
	}
	return buf.Bytes(), nil
}

// cutReader remembers the first read error other than EOF, so a decoder's
// complaint about a short document can be traced to a broken connection.
type cutReader struct {
	r   io.Reader
	err error
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// repeatable says whether a call may be sent twice (see httpretry.IsIdempotent).
func repeatable(ctx context.Context, method string) bool {
	return httpretry.IsIdempotent((&http.Request{Method: method, Header: http.Header{}}).WithContext(ctx))
}

// Stream sends r and returns the open 2xx response for the caller to read
// and close (report downloads). Non-2xx becomes an *APIError.
func (c *Client) Stream(ctx context.Context, r Request) (*http.Response, error) {
	return c.send(ctx, r, "")
}

// send sends r with a bearer token (and accept, when given, as Accept); a 401
// invalidates the token and sends once more with a fresh one.
func (c *Client) send(ctx context.Context, r Request, accept string) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = json.Marshal(r.Body); err != nil {
			return nil, fmt.Errorf("acronis: %s %s: encode request: %w", r.Method, r.Path, err)
		}
	}
	ctx = httpretry.SharedBudget(ctx)
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("acronis: %s %s: get token: %w", r.Method, r.Path, err)
		}
		req, err := c.newRequest(ctx, r, body, accept)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("acronis: %s %s: %w", r.Method, r.Path, redactURLError(err))
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			// The token may have been revoked or expired early: one fresh try.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if inv, ok := c.tokens.(Invalidator); ok {
				inv.Invalidate(tok)
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			return nil, readError(resp, r.Method, r.Path)
		}
		return resp, nil
	}
}

// newRequest builds one attempt of r: body is r.Body already encoded, sent
// afresh each time.
func (c *Client) newRequest(ctx context.Context, r Request, body []byte, accept string) (*http.Request, error) {
	u := c.base + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("acronis: %s %s: %w", r.Method, r.Path, err)
	}
	maps.Copy(req.Header, r.Header)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return req, nil
}
