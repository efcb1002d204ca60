package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/webhook"
)

// Queue hands accepted events to the worker.
type Queue interface {
	// Enqueue sends one event; events of one customer (group) are kept in
	// order, deduplicated by event id within SQS's 5-minute window (a
	// received-but-not-queued event sent again later may arrive twice: the
	// worker is idempotent).
	Enqueue(ctx context.Context, ev webhook.Event, body []byte) error
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

var unavailable = map[string]string{"message": "temporarily unavailable, retry"}

func (in *Intake) log() *slog.Logger {
	if in.Log != nil {
		return in.Log
	}
	return slog.Default()
}

// Accept handles one webhook request: 413 for a body the queue cannot
// carry, 401 for a bad signature, 400 naming the field for bad input (all
// before anything is recorded), 409 for an event already queued, 202 once
// queued.
func (in *Intake) Accept(ctx context.Context, header func(string) string, body []byte) Response {
	if len(body) > webhook.MaxBody {
		return jsonResponse(413, map[string]any{"message": "payload too large", "field": "(body)", "max_bytes": webhook.MaxBody})
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	key, err := in.Key(ctx)
	if err != nil {
		in.log().ErrorContext(ctx, "webhook key unavailable", "error", err.Error())
		return jsonResponse(503, map[string]string{"message": "temporarily unavailable"})
	}
	if err := webhook.Verify(key, header("X-Signature"), header("X-Timestamp"), body, now()); err != nil {
		// The reason stays in our logs; the caller learns nothing.
		in.log().WarnContext(ctx, "webhook rejected", "reason", err.Error())
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
	return in.record(ctx, ev, body)
}

// record notes the event as received, queues it, then marks it queued. A
// replay of an event received but never queued (the queue or the mark
// failed) is queued again; the FIFO queue's deduplication id and the
// worker's idempotence make a second copy harmless.
func (in *Intake) record(ctx context.Context, ev webhook.Event, body []byte) Response {
	window := in.ReplayWindow
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	status, err := in.Store.RecordEvent(ctx, ev.ID, window)
	if err != nil {
		in.log().ErrorContext(ctx, "webhook: record event", "event_id", ev.ID, "error", err.Error())
		return jsonResponse(503, unavailable)
	}
	if status == EventQueued {
		return jsonResponse(409, map[string]string{"message": "event already received", "event_id": ev.ID})
	}
	if err := in.Queue.Enqueue(ctx, ev, body); err != nil {
		in.log().ErrorContext(ctx, "webhook: enqueue", "event_id", ev.ID, "error", err.Error())
		return jsonResponse(503, unavailable)
	}
	if err := in.Store.MarkQueued(ctx, ev.ID); err != nil {
		// Queued but not marked: a replay queues it again, which is harmless.
		in.log().ErrorContext(ctx, "webhook: mark queued", "event_id", ev.ID, "error", err.Error())
	}
	in.log().InfoContext(ctx, "webhook accepted", "event_id", ev.ID, "type", ev.Type, "crm_id", ev.Customer.CRMID, "replay", status == EventReceived)
	return jsonResponse(202, map[string]string{"accepted": ev.ID, "type": ev.Type})
}
