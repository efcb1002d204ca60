package provisioning

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/aws/aws-lambda-go/events"
)

// HandleHTTP is the intake's Lambda entry point (API Gateway HTTP API,
// payload 2.0): verify, parse, record, enqueue, answer.
func (in *Intake) HandleHTTP(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	answer := func(status int, body string) events.APIGatewayV2HTTPResponse {
		return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: body, Headers: map[string]string{"Content-Type": "application/json"}}
	}
	if m := req.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		return answer(405, `{"message":"POST only"}`), nil
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return answer(400, `{"message":"invalid base64 body","field":"(body)"}`), nil
		}
	}
	header := func(name string) string {
		for k, v := range req.Headers { // HTTP API lower-cases names; be lenient anyway
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
	r := in.Accept(ctx, header, body)
	return answer(r.Status, r.Body), nil
}

// Worker runs queued and hand-sent events.
type Worker struct {
	// Provisioner builds the provisioner (its Acronis token is fetched per
	// invocation).
	Provisioner func(ctx context.Context) (*Provisioner, error)
	Log         *slog.Logger
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// HandleSQS is the worker's Lambda entry point for the FIFO queue, with
// ReportBatchItemFailures. After the first failure the rest of the batch is
// reported failed without running: later messages may be the same
// customer's, and running them would break the customer's order.
func (w *Worker) HandleSQS(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var out events.SQSEventResponse
	p, err := w.Provisioner(ctx)
	if err != nil {
		return out, err // the whole batch is retried
	}
	for i, m := range batch.Records {
		ev, err := webhook.ParseEvent([]byte(m.Body))
		if err == nil {
			_, err = p.Handle(ctx, ev)
		}
		if err == nil {
			continue
		}
		w.log().ErrorContext(ctx, "queued event failed", "message_id", m.MessageId, "group", m.Attributes["MessageGroupId"], "error", err.Error())
		for _, rest := range batch.Records[i:] {
			out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
		}
		break
	}
	return out, nil
}

// HandleEvent is the worker's entry point for the on-call engineer's plain
// event (aws lambda invoke with events/provisioning-*.json).
func (w *Worker) HandleEvent(ctx context.Context, raw json.RawMessage) (Result, error) {
	ev, err := webhook.ParseEvent(raw)
	if err != nil {
		return Result{}, fmt.Errorf("provisioning request: %w", err)
	}
	p, err := w.Provisioner(ctx)
	if err != nil {
		return Result{}, err
	}
	return p.Handle(ctx, ev)
}
