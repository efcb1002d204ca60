package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/notify"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// The real SNS client publishes to moto.
func TestSNS(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	c := sns.NewFromConfig(moto.Config())
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(mototest.Name("notify"))})
	if err != nil {
		t.Fatal(err)
	}
	n := &notify.SNS{Client: c, TopicArn: aws.ToString(topic.TopicArn)}
	if err := n.Notify(ctx, "Backup audit:\n"+strings.Repeat("s", 150), "3 new critical findings"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(moto.Endpoint + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SNS struct {
			Topic []struct {
				Arn  string  `json:"arn"`
				Sent [][]any `json:"sent_notifications"`
			} `json:"Topic"`
		} `json:"sns"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&data)
	for _, tp := range data.SNS.Topic {
		if tp.Arn == aws.ToString(topic.TopicArn) {
			if len(tp.Sent) != 1 || tp.Sent[0][1] != "3 new critical findings" || len(tp.Sent[0][2].(string)) != 99 {
				t.Fatalf("sent %v", tp.Sent)
			}
			return
		}
	}
	t.Fatal("topic not found in moto")
}

func TestSNSSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Backup audit: 2 new critical (Ålesund Kommune (2))", "Backup audit: 2 new critical (Ålesund Kommune (2))"},
		{"line\nbreak\ttab\x07bell", "line break tab bell"},
		{strings.Repeat("é", 120), strings.Repeat("é", 99)},
		{"bad \xff byte", "bad ? byte"},
	}
	for _, tt := range tests {
		if got := notify.SNSSubject(tt.in); got != tt.want {
			t.Errorf("notify.SNSSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Subjects come from customer names: whatever they hold, SNS accepts the result.
func FuzzSNSSubject(f *testing.F) {
	for _, s := range []string{"Backup audit: 1 new critical", "Ålesund\n\x00", strings.Repeat("é", 200), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := notify.SNSSubject(s)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > 99 || strings.ContainsFunc(got, unicode.IsControl) {
			t.Fatalf("notify.SNSSubject(%q) = %q", s, got)
		}
	})
}
