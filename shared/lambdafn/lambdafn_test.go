package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestEnv(t *testing.T) {
	vars := map[string]string{"A": "1", "B": " ", "C": "3"}
	tests := []struct {
		names   []string
		wantErr string
	}{
		{[]string{"A", "C"}, ""},
		{[]string{"A", "B", "D"}, "B, D not set"},
	}
	for _, tt := range tests {
		got, err := Env(func(k string) string { return vars[k] }, tt.names...)
		if tt.wantErr == "" {
			if err != nil || got["A"] != "1" || got["C"] != "3" {
				t.Fatalf("%v %v", got, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Fatalf("err %v, want %q", err, tt.wantErr)
		}
	}
}

func TestHandleLogsJSONWithRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := Logger(&buf)
	h := Handle(log, "fn", func(ctx context.Context, in int) (int, error) {
		if in < 0 {
			return 0, errors.New("negative")
		}
		return in * 2, nil
	})
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	tests := []struct {
		in      int
		want    int
		wantErr bool
		wantMsg string
	}{
		{2, 4, false, "invocation done"},
		{-1, 0, true, "invocation failed"},
	}
	for _, tt := range tests {
		buf.Reset()
		got, err := h(ctx, tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Fatalf("h(%d) = %d, %v", tt.in, got, err)
		}
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %q", buf.String())
		}
		if line["message"] != tt.wantMsg || line["requestId"] != "req-1" || line["function"] != "fn" {
			t.Fatalf("log line %v", line)
		}
	}
}
