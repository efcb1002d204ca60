package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
)

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

// Logger stays ours because it writes to any io.Writer (every function test
// captures the logs to prove no secret reaches them) and is JSON whatever
// AWS_LAMBDA_LOG_FORMAT says. Under the deployed settings (LogFormat JSON)
// its lines must be lambdacontext.NewLogger's: same keys, same level
// filter, same requestId. lambdacontext reads the settings once, at
// package init, so the comparison runs in a child process that starts with them.
func TestLoggerMatchesLambdaContextLogger(t *testing.T) {
	if os.Getenv("LAMBDAFN_LOGGER_CHILD") == "1" {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-7"})
		for _, log := range []*slog.Logger{lambdacontext.NewLogger(), Logger(os.Stdout)} {
			log.InfoContext(ctx, "below the level")
			log.With("function", "fn").WarnContext(ctx, "kept", "n", 3)
			log.ErrorContext(ctx, "also kept")
		}
		return
	}
	for _, level := range []string{"WARN", "DEBUG", ""} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoggerMatchesLambdaContextLogger$")
		cmd.Env = append(os.Environ(), "LAMBDAFN_LOGGER_CHILD=1", "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL="+level)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var lines []map[string]any
		for _, l := range strings.Split(string(out), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil {
				delete(m, "timestamp")
				lines = append(lines, m)
			}
		}
		if len(lines)%2 != 0 || len(lines) == 0 {
			t.Fatalf("level %q: %d JSON lines:\n%s", level, len(lines), out)
		}
		theirs, ours := lines[:len(lines)/2], lines[len(lines)/2:]
		if !reflect.DeepEqual(theirs, ours) {
			t.Fatalf("level %q:\nlambdacontext %v\nours          %v", level, theirs, ours)
		}
		if want := map[string]int{"WARN": 2, "DEBUG": 3, "": 3}[level]; len(ours) != want {
			t.Fatalf("level %q: %d lines kept, want %d", level, len(ours), want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	type conf struct{ n int }
	load := func(getenv func(string) string) (conf, error) {
		if getenv("N") == "" {
			return conf{}, errors.New("configuration: environment variable(s) N not set")
		}
		return conf{n: len(getenv("N"))}, nil
	}
	built := 0
	build := func(_ aws.Config, c conf, _ *slog.Logger) Handler[int, int] {
		built++
		return func(_ context.Context, in int) (int, error) { return in * c.n, nil }
	}
	tests := []struct {
		env     string
		want    int
		wantErr string
	}{
		{"", 0, "N not set"},
		{"abc", 6, ""},
	}
	for _, tt := range tests {
		built = 0
		h, err := FromEnv(aws.Config{}, func(string) string { return tt.env }, load, build, Logger(io.Discard))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || built != 0 {
				t.Fatalf("env %q: err %v, built %d times", tt.env, err, built)
			}
			continue
		}
		if err != nil || built != 1 {
			t.Fatalf("env %q: err %v, built %d times", tt.env, err, built)
		}
		if got, _ := h(context.Background(), 2); got != tt.want {
			t.Fatalf("env %q: h(2) = %d", tt.env, got)
		}
	}
}
