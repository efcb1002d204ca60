package huaweicbr

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// AK/SK request signing, "SDK-HMAC-SHA256", as the official Huawei Cloud SDK
// does it (core/auth/signer): checked in tests against the SDK's own vectors.
const (
	Algorithm     = "SDK-HMAC-SHA256"
	HeaderSdkDate = "X-Sdk-Date"
	dateFormat    = "20060102T150405Z"
)

// Sign signs req in place with the access key and secret key at time now:
// it sets X-Sdk-Date and Authorization. The body is read and restored.
func Sign(req *http.Request, ak, sk string, now time.Time) error {
	if ak == "" || sk == "" {
		return errors.New("huaweicbr: sign: empty access key or secret key")
	}
	req.Header.Set(HeaderSdkDate, now.UTC().Format(dateFormat))
	body, err := readBody(req)
	if err != nil {
		return err
	}
	signed := SignedHeaders(req.Header)
	sig := signature(req, body, signed, req.Header.Get(HeaderSdkDate), sk)
	req.Header.Set("Authorization", fmt.Sprintf("%s Access=%s, SignedHeaders=%s, Signature=%s", Algorithm, ak, strings.Join(signed, ";"), sig))
	return nil
}

// Verify checks a signed request against the secret key for ak, as the
// gateway does. It returns the reason on failure (for the simulator's
// answer), never the expected signature.
func Verify(req *http.Request, secretFor func(ak string) (string, bool), now time.Time, maxSkew time.Duration) error {
	auth := req.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, Algorithm+" ")
	if !ok {
		return errors.New("missing or unsupported Authorization")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return errors.New("malformed Authorization")
		}
		fields[k] = v
	}
	ak, signedList, sig := fields["Access"], fields["SignedHeaders"], fields["Signature"]
	if ak == "" || signedList == "" || sig == "" {
		return errors.New("malformed Authorization")
	}
	sk, ok := secretFor(ak)
	if !ok {
		return errors.New("unknown access key")
	}
	date := req.Header.Get(HeaderSdkDate)
	t, err := time.Parse(dateFormat, date)
	if err != nil {
		return errors.New("missing or malformed X-Sdk-Date")
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return errors.New("X-Sdk-Date too far from the server's clock")
	}
	signed := strings.Split(signedList, ";")
	if !slices.ContainsFunc(signed, func(h string) bool { return strings.EqualFold(h, HeaderSdkDate) }) {
		return errors.New("X-Sdk-Date is not signed")
	}
	body, err := readBody(req)
	if err != nil {
		return err
	}
	want := signature(req, body, signed, date, sk)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// SignedHeaders lists the lower-case names the SDK signs: every header but
// Content-Type and names with an underscore.
func SignedHeaders(h http.Header) []string {
	var out []string
	for k := range h {
		lk := strings.ToLower(k)
		if lk == "content-type" || lk == "authorization" || strings.Contains(lk, "_") {
			continue
		}
		out = append(out, lk)
	}
	slices.Sort(out)
	return out
}

func signature(req *http.Request, body []byte, signed []string, date, sk string) string {
	cr := CanonicalRequest(req, body, signed)
	sum := sha256.Sum256([]byte(cr))
	sts := Algorithm + "\n" + date + "\n" + hex.EncodeToString(sum[:])
	m := hmac.New(sha256.New, []byte(sk))
	m.Write([]byte(sts))
	return hex.EncodeToString(m.Sum(nil))
}

// CanonicalRequest is method, URI (segments escaped, trailing /), sorted
// query, signed header lines, their names, and the body's SHA-256.
func CanonicalRequest(req *http.Request, body []byte, signed []string) string {
	path := req.URL.EscapedPath()
	var segs []string
	for _, s := range strings.Split(path, "/") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		segs = append(segs, escape(s))
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	q := req.URL.Query()
	var qs []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range slices.Sorted(slices.Values(q[k])) {
			qs = append(qs, escape(k)+"="+escape(v))
		}
	}
	var hs []string
	for _, name := range signed {
		var vals []string
		if strings.EqualFold(name, "host") {
			vals = []string{req.Host}
			if vals[0] == "" {
				vals[0] = req.URL.Host
			}
		} else {
			vals = append(vals, req.Header.Values(name)...)
		}
		slices.Sort(vals)
		for _, v := range vals {
			hs = append(hs, name+":"+strings.TrimSpace(v))
		}
	}
	sum := sha256.Sum256(body)
	return req.Method + "\n" + uri + "\n" + strings.Join(qs, "&") + "\n" + strings.Join(hs, "\n") + "\n\n" +
		strings.Join(signed, ";") + "\n" + hex.EncodeToString(sum[:])
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("huaweicbr: sign: read body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return b, nil
}

// escape is the SDK's: RFC 3986 unreserved characters stay, everything else
// is %XX (so a space is %20, never +).
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
