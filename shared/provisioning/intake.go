package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Queue hands accepted events to the worker.
type Queue interface {
	Enqueue(ctx context.Context, eventID string, body []byte) error
}

// SQSQueue is the provisioning queue (with a dead-letter queue behind it).
type SQSQueue struct {
	Client *sqs.Client
	URL    string
}

// Enqueue sends one event.
func (q *SQSQueue) Enqueue(ctx context.Context, eventID string, body []byte) error {
	_, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body))})
	if err != nil {
		return fmt.Errorf("enqueue event %s: %w", eventID, err)
	}
	return nil
}

// Intake answers the CRM's webhook within a few seconds: verify, check,
// record the event id, queue it. The work itself happens in the worker.
type Intake struct {
	Key   func(ctx context.Context) ([]byte, error)
	Store Store
	Queue Queue
	Now   func() time.Time
	Log   *slog.Logger
	// ReplayWindow is how long event ids are remembered (default 7 days).
	ReplayWindow time.Duration
}

// Response is an HTTP answer.
type Response struct {
	Status int
	Body   string
}

func jsonResponse(status int, v any) Response {
	b, _ := json.Marshal(v)
	return Response{Status: status, Body: string(b)}
}

// Accept handles one webhook request.
func (in *Intake) Accept(ctx context.Context, header func(string) string, body []byte) Response {
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	log := in.Log
	if log == nil {
		log = slog.Default()
	}
	key, err := in.Key(ctx)
	if err != nil {
		log.ErrorContext(ctx, "webhook key unavailable", "error", err.Error())
		return jsonResponse(503, map[string]string{"message": "temporarily unavailable"})
	}
	if err := webhook.Verify(key, header("X-Signature"), header("X-Timestamp"), body, now()); err != nil {
		// The reason stays in our logs; the caller learns nothing.
		log.WarnContext(ctx, "webhook rejected", "reason", err.Error())
		return jsonResponse(401, map[string]string{"message": "unauthorized"})
	}
	ev, err := webhook.ParseEvent(body)
	if err != nil {
		var fe *webhook.FieldError
		if errors.As(err, &fe) {
			return jsonResponse(400, map[string]string{"message": "invalid payload", "field": fe.Field, "reason": fe.Reason})
		}
		return jsonResponse(400, map[string]string{"message": "invalid payload"})
	}
	window := in.ReplayWindow
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	first, err := in.Store.MarkEvent(ctx, ev.ID, window)
	if err != nil {
		log.ErrorContext(ctx, "webhook: record event", "event_id", ev.ID, "error", err.Error())
		return jsonResponse(503, map[string]string{"message": "temporarily unavailable, retry"})
	}
	if !first {
		return jsonResponse(409, map[string]string{"message": "event already received", "event_id": ev.ID})
	}
	if err := in.Queue.Enqueue(ctx, ev.ID, body); err != nil {
		// Not queued: forget the id so the CRM's retry is accepted. If even
		// that fails, the retry would get 409 and the event would be lost:
		// say so loudly, with the event id, for the on-call engineer.
		log.ErrorContext(ctx, "webhook: enqueue", "event_id", ev.ID, "error", err.Error())
		if ferr := in.Store.ForgetEvent(context.WithoutCancel(ctx), ev.ID); ferr != nil {
			log.ErrorContext(ctx, "webhook: event neither queued nor forgotten; the CRM's retry will be refused: re-send it by hand (aws lambda invoke with the event)",
				"event_id", ev.ID, "error", ferr.Error())
		}
		return jsonResponse(503, map[string]string{"message": "temporarily unavailable, retry"})
	}
	log.InfoContext(ctx, "webhook accepted", "event_id", ev.ID, "type", ev.Type, "crm_id", ev.Customer.CRMID)
	return jsonResponse(202, map[string]string{"accepted": ev.ID, "type": ev.Type})
}
