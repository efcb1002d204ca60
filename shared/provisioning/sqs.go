package provisioning

import (
	"context"
	"fmt"

	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQSQueue is the provisioning FIFO queue (a name ending in .fifo, with a
// dead-letter queue behind it): one message group per CRM customer keeps
// a customer's events in order, the event id deduplicates.
type SQSQueue struct {
	Client *sqs.Client
	URL    string
}

// Enqueue sends one event.
func (q *SQSQueue) Enqueue(ctx context.Context, ev webhook.Event, body []byte) error {
	_, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body)),
		MessageGroupId: aws.String(ev.Customer.CRMID), MessageDeduplicationId: aws.String(ev.ID),
	})
	if err != nil {
		return fmt.Errorf("enqueue event %s: %w", ev.ID, err)
	}
	return nil
}
