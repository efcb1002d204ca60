// Package objstoretest holds test doubles for the object store.
package objstoretest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"testing"
)

// accessDenied is the body real S3 sends with its 403.
const accessDenied = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>DENYMISSING</RequestId><HostId>objstoretest</HostId></Error>`

// DenyMissingKeys starts a proxy in front of an S3 endpoint (moto) that
// answers as AWS does for a caller without s3:ListBucket: "GetObject/HeadObject
// of a key that does not exist answers 403 AccessDenied, not 404 NoSuchKey,
// when the caller lacks s3:ListBucket on the bucket" (API-NOTES.md, AWS facts
// the local stand-ins do not show). moto answers 404 either way, so the
// proxy rewrites a 404 to a GET or HEAD into that 403. It returns the proxy's
// URL (use it as the SDK's BaseEndpoint) and stops with the test.
func DenyMissingKeys(t testing.TB, endpoint string) string {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("objstoretest: endpoint %q: %v", endpoint, err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		m := resp.Request.Method
		if resp.StatusCode != http.StatusNotFound || (m != http.MethodGet && m != http.MethodHead) || resp.Request.URL.Query().Has("list-type") {
			return nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		body := []byte(accessDenied)
		if m == http.MethodHead {
			body = nil // HEAD answers carry no body: the SDK sees only the status
		}
		resp.StatusCode, resp.Status = http.StatusForbidden, "403 Forbidden"
		resp.Header.Set("Content-Type", "application/xml")
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		resp.ContentLength = int64(len(body))
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}
