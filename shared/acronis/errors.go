package acronis

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// APIError is any non-2xx answer from the platform. It decodes the three
// shapes the platform uses: the account-server envelope
// {"error":{"code","message","details":{"info"},"domain"}}, the flat policy v4
// shape {"code","domain","message"}, and OAuth {"error","error_description"}.
// Code is kept as text: it is a number in some services and a string in others.
type APIError struct {
	Status    int
	Code      string
	Message   string
	Info      string // details.info or error_description
	Domain    string
	Method    string
	Path      string // request path, without the query
	RequestID string // X-Request-Id of the answer, for Acronis support
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("acronis: %s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Info != "" && e.Info != e.Message {
		s += " (" + e.Info + ")"
	}
	if e.RequestID != "" {
		s += " [request " + e.RequestID + "]"
	}
	return s
}

// Documented account-server error codes the jobs act on.
const (
	CodeVersionMismatch    = "1001"
	CodeTenantNameConflict = "1004"
)

// HasCode reports whether err is an APIError with the given code.
func HasCode(err error, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}

// HasStatus reports whether err is an APIError with the given HTTP status.
func HasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}

const maxErrorBody = 64 << 10

// readError builds an APIError from a non-2xx response and closes its body.
func readError(resp *http.Response, method, path string) *APIError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := ParseError(resp.StatusCode, body)
	e.Method, e.Path = method, path
	e.RequestID = resp.Header.Get("X-Request-Id")
	return e
}

// ParseError decodes an error body of any of the platform's shapes. It never
// fails: an unknown body becomes the message (trimmed), so nothing is hidden.
func ParseError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var env struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Code             json.RawMessage `json:"code"`
		Domain           *string         `json:"domain"`
		Message          string          `json:"message"`
		// Task, alert and agent documents put the text in these free-form
		// maps instead: read loosely, so an unexpected shape there cannot
		// cost the code and domain.
		Debug   json.RawMessage `json:"debug"`
		Context json.RawMessage `json:"context"`
	}
	if json.Unmarshal(body, &env) != nil {
		e.Message = snippet(body)
		return e
	}
	raw := bytes.TrimSpace(env.Error)
	switch {
	case len(raw) > 0 && raw[0] == '{':
		var inner struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
			Domain  *string         `json:"domain"`
			Details struct {
				Info *string `json:"info"`
			} `json:"details"`
		}
		if json.Unmarshal(raw, &inner) == nil {
			e.Code, e.Message = codeText(inner.Code), inner.Message
			if inner.Domain != nil {
				e.Domain = *inner.Domain
			}
			if inner.Details.Info != nil {
				e.Info = *inner.Details.Info
			}
		}
	case len(raw) > 0 && raw[0] == '"':
		_ = json.Unmarshal(raw, &e.Code)
		e.Info = env.ErrorDescription
		e.Message = env.ErrorDescription
	case len(env.Code) > 0:
		e.Code, e.Message = codeText(env.Code), cmp.Or(env.Message, errorText(env.Debug, env.Context))
		if env.Domain != nil {
			e.Domain = *env.Domain
		}
	default:
		e.Message = snippet(body)
	}
	return e
}

func codeText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return n.String()
	}
	return ""
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = b[:200]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}
