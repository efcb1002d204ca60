package reports_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// downloads counts the answers to a report's download requests by status.
func downloads(e *env, reportID string) map[int]int {
	out := map[int]int{}
	for _, r := range e.sim.Requests() {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/api/2/reports/"+reportID+"/stored/") {
			out[r.Status]++
		}
	}
	return out
}

// A cut download continues from the bytes it has (Range), falls back to
// reading again from the start when the server ignores Range, and gives up
// with a clear error, leaving no object, when answers stop adding bytes.
func TestResumedDownloads(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		formats  string
		behavior acronistest.ReportBehavior
		wantErr  string
		check    func(t *testing.T, byStatus map[int]int)
	}{
		{"half the downloads cut: a large report lands intact in every format", `["csv","csv_v2_0","json_v1","html"]`, acronistest.ReportBehavior{Size: 6 << 20, CutRate: 0.5}, "",
			func(t *testing.T, byStatus map[int]int) {
				if byStatus[206] == 0 {
					t.Fatalf("answers %v: no download was resumed with a range", byStatus)
				}
				t.Logf("download answers by status: %v", byStatus)
			}},
		{"server ignores Range: whole answers, bytes already stored skipped", `["csv_v2_0"]`, acronistest.ReportBehavior{Size: 2 << 20, IgnoreRange: true, DropDownloads: 3, DropAfter: 30 << 10}, "",
			func(t *testing.T, byStatus map[int]int) {
				if byStatus[200] != 4 || byStatus[206] != 0 {
					t.Fatalf("answers %v, want four whole (200) answers", byStatus)
				}
			}},
		{"cut before any byte, forever: stops after 5 answers in a row", `["csv_v2_0"]`, acronistest.ReportBehavior{Size: 1 << 20, DropDownloads: 1000, DropAfter: 0}, "no progress in 5 answers in a row",
			func(t *testing.T, byStatus map[int]int) {
				if byStatus[200] != 5 {
					t.Fatalf("answers %v, want exactly 5 requests", byStatus)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.behavior
			b.Generation = time.Second
			e := setup(t, b, nil)
			res, err := e.job.Run(ctx, e.spec(t, `{"formats":`+tt.formats+`}`))
			key := "reports/kind=usage_summary/dt=2026-10-01/" + res.ReportID + ".v2.csv"
			if tt.check != nil {
				tt.check(t, downloads(e, res.ReportID))
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "download csv_v2_0") {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if _, gerr := e.store.Get(ctx, key); !errors.Is(gerr, objstore.ErrNotFound) {
					t.Fatalf("a truncated object was left under %s: %v", key, gerr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				if got, want := e.content(t, o.Key), e.expected(t, res.ReportID, o.Format); !bytes.Equal(got, want) || len(want) < int(b.Size) {
					t.Fatalf("%s: stored %d bytes that differ from the report's %d", o.Format, len(got), len(want))
				}
			}
			if len(res.Objects) != strings.Count(tt.formats, ",")+1 {
				t.Fatalf("stored %+v", res.Objects)
			}
		})
	}
}

// Waits between resumes grow while answers add nothing, and are jittered.
func TestResumeBackoffGrows(t *testing.T) {
	e := setup(t, acronistest.ReportBehavior{Generation: time.Second, DropDownloads: 1000}, nil)
	var waits []time.Duration
	e.job.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); e.clock.Add(d); return nil }
	e.job.ResumeMin, e.job.ResumeMax, e.job.ResumeStalls = 100*time.Millisecond, time.Second, 7
	e.job.PollMin = 10 * time.Second // one poll wait, then only resume waits
	_, err := e.job.Run(context.Background(), e.spec(t, `{"formats":["csv"]}`))
	if err == nil {
		t.Fatal("a download that never progresses succeeded")
	}
	resumes := waits[1:]
	if len(resumes) != 6 {
		t.Fatalf("waits %v: want 6 resume waits for 7 answers", waits)
	}
	for i, d := range resumes {
		hi := min(100*time.Millisecond<<i, time.Second)
		if d < hi/2 || d > hi {
			t.Fatalf("wait %d is %v, want within [%v, %v] (waits %v)", i, d, hi/2, hi, resumes)
		}
	}
}

// A resume that never progresses aborts the one multipart upload: no object
// and no upload left behind in the bucket.
func TestFailedResumeLeavesNoUpload(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	client := awsenv.S3(moto.Config())
	bucket := mototest.Name("abort")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	// The first answer gives 9 MiB (more than a part), then every answer is cut at once.
	e := setup(t, acronistest.ReportBehavior{Generation: time.Second, Size: 40 << 20}, &objstore.S3{Client: client, Bucket: bucket})
	e.sim.SetReportBehavior(acronistest.ReportBehavior{Generation: time.Second, Size: 40 << 20, DropDownloads: 1, DropAfter: 3 << 20})
	e.job.Sleep = func(ctx context.Context, d time.Duration) error {
		e.sim.SetReportBehavior(acronistest.ReportBehavior{DropDownloads: 1000})
		e.clock.Add(d)
		return nil
	}
	res, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv"]}`))
	if err == nil || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("err %v", err)
	}
	if _, gerr := e.store.Get(ctx, "reports/kind=usage_summary/dt=2026-10-01/"+res.ReportID+".csv"); !errors.Is(gerr, objstore.ErrNotFound) {
		t.Fatalf("object after a failed download: %v", gerr)
	}
	ups, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("multipart uploads left: %v %v", ups, err)
	}
}
