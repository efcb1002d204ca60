// Package lambdafn holds what every function's main shares: a JSON slog
// logger that carries the Lambda request id, a handler wrapper that logs each
// invocation's outcome itself (errors that aws-lambda-go logs are not
// structured), and Main/FromEnv, which load a function's typed configuration
// and build its handler.
package lambdafn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Logger writes JSON lines to w at AWS_LAMBDA_LOG_LEVEL (default INFO):
// under the deployed LogFormat JSON, the lines lambdacontext.NewLogger
// writes (a test holds them equal). Not that logger itself: it writes only
// to stdout and reads its settings at package init, and the function tests
// read these lines to prove no secret reaches them.
func Logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(os.Getenv("AWS_LAMBDA_LOG_LEVEL"))); err != nil {
		lvl = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(requestID{h})
}

type requestID struct{ slog.Handler }

func (h requestID) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestID) WithAttrs(a []slog.Attr) slog.Handler { return requestID{h.Handler.WithAttrs(a)} }
func (h requestID) WithGroup(n string) slog.Handler      { return requestID{h.Handler.WithGroup(n)} }

// Handle wraps a handler: it logs the outcome and duration of each invocation
// and returns the handler's result unchanged.
func Handle[In, Out any](log *slog.Logger, name string, h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		start := time.Now()
		out, err := h(ctx, in)
		if err != nil {
			log.ErrorContext(ctx, "invocation failed", "function", name, "duration_ms", time.Since(start).Milliseconds(), "error", err.Error())
			return out, err
		}
		log.InfoContext(ctx, "invocation done", "function", name, "duration_ms", time.Since(start).Milliseconds())
		return out, nil
	}
}

// start builds the handler once, at cold start, and serves invocations. When
// building fails (missing variable, unreadable config), every invocation
// returns that error, logged: the cause shows in the function's result and
// logs instead of as an opaque init crash loop.
func start[In, Out any](name string, build func(ctx context.Context, log *slog.Logger) (Handler[In, Out], error)) {
	log := Logger(os.Stdout)
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("cold start failed", "function", name, "error", err.Error())
		initErr := fmt.Errorf("%s: %w", name, err)
		h = func(context.Context, In) (Out, error) {
			var zero Out
			return zero, initErr
		}
	}
	lambda.Start(Handle(log, name, h))
}

// Handler is a function's invocation handler.
type Handler[In, Out any] = func(context.Context, In) (Out, error)

// Loader reads a function's typed configuration (a handler package's
// LoadConfig); its error names every bad variable.
type Loader[C any] = func(getenv func(string) string) (C, error)

// Builder wires a handler from the AWS configuration and the typed one (a
// handler package's Build).
type Builder[C, In, Out any] = func(cfg aws.Config, conf C, log *slog.Logger) Handler[In, Out]

// Main is a function's whole main: at cold start, the AWS configuration,
// then FromEnv over the process environment, then Start.
func Main[C, In, Out any](name string, load Loader[C], build Builder[C, In, Out]) {
	start(name, func(ctx context.Context, log *slog.Logger) (Handler[In, Out], error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		return FromEnv(cfg, os.Getenv, load, build, log)
	})
}

// FromEnv reads the typed configuration from getenv and builds the handler
// on cfg: what Main does, for tests with their own getenv and aws.Config.
func FromEnv[C, In, Out any](cfg aws.Config, getenv func(string) string, load Loader[C], build Builder[C, In, Out], log *slog.Logger) (Handler[In, Out], error) {
	conf, err := load(getenv)
	if err != nil {
		return nil, err
	}
	return build(cfg, conf, log), nil
}
