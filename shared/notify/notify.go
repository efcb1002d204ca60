// Package notify sends the jobs' messages: Notifier is what a job is given,
// SNS its AWS adapter. The project keeps each AWS adapter with the interface
// it implements, one package per concern: objstore (S3), secrets (Secrets
// Manager), notify (SNS) and provisioning (DynamoDB and SQS, whose records
// are provisioning's own state and events). A job package holds no AWS
// client; functions/*/handler wire the adapters in.
package notify

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Notifier sends one message (SNS in Lambda).
type Notifier interface {
	Notify(ctx context.Context, subject, message string) error
}

// SNS publishes to a topic.
type SNS struct {
	Client   *sns.Client
	TopicArn string
}

var _ Notifier = (*SNS)(nil)

// Notify publishes one message.
func (n *SNS) Notify(ctx context.Context, subject, message string) error {
	_, err := n.Client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(n.TopicArn), Subject: aws.String(SNSSubject(subject)), Message: aws.String(message)})
	if err != nil {
		return fmt.Errorf("sns: publish: %w", err)
	}
	return nil
}

// SNSSubject fits a subject to SNS Publish: "Subjects must be UTF-8 text with
// no line breaks or control characters, and less than 100 characters long"
// (PublishRequest.Subject). A subject that breaks this makes Publish refuse
// the whole page, so it is mended rather than sent as given.
func SNSSubject(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "?") {
		if unicode.IsControl(r) {
			r = ' '
		}
		if n == 99 {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
