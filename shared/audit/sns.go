package audit

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// SNSNotifier publishes to a topic.
type SNSNotifier struct {
	Client   *sns.Client
	TopicArn string
}

var _ Notifier = (*SNSNotifier)(nil)

// Notify publishes one message; SNS subjects are capped at 100 characters.
func (n *SNSNotifier) Notify(ctx context.Context, subject, message string) error {
	if len(subject) > 100 {
		subject = subject[:100]
	}
	_, err := n.Client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(n.TopicArn), Subject: aws.String(subject), Message: aws.String(message)})
	return err
}
