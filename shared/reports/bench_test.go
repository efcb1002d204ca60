package reports_test

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/reports"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// peakHeap samples the live heap while f runs and returns the highest value.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak.Load()
}

// BenchmarkReport512MiB streams a 512 MiB report (gzip on the wire) from the
// simulator into moto_server's S3, decompressing and verifying on the way.
// "copy" is the baseline: the same download, decompressed into io.Discard.
func BenchmarkReport512MiB(b *testing.B) {
	const size = 512 << 20
	ctx := context.Background()
	sim := acronistest.New(acronistest.Config{SkipContract: true}) // figures about the download, not the checker
	sim.Start()
	defer sim.Close()
	sim.SetReportBehavior(acronistest.ReportBehavior{Size: size}) // the tree's rows repeated to a whole row past 512 MiB
	sim.GenerateTree(2, 10, 0)
	id, secret := sim.AddAPIClient("")
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	src := acronis.NewCachedSource(&acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: id, ClientSecret: secret}, HTTP: hc}, 0)
	client, _ := acronis.NewClient(sim.URL(), src, hc)
	moto := mototest.Get(b)
	s3c := awsenv.S3(moto.Config())
	bucket := mototest.Name("bench")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		b.Fatal(err)
	}
	spec, _ := reports.ParseRequest([]byte(`{"kind":"usage_current","formats":["csv"]}`), reports.Request{}, time.Now())

	b.Run("copy", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			rep, err := client.CreateReport(ctx, acronis.ReportPost{Recipients: []string{}, ResultAction: "save", Schedule: acronis.ReportSchedule{Type: "once"},
				Parameters: acronis.ReportParameters{TenantID: sim.RootTenantID(), Level: "accounts", Kind: "usage_current", Formats: []string{"csv"}}})
			if err != nil {
				b.Fatal(err)
			}
			items, _ := client.StoredReports(ctx, rep.ID)
			var n int64
			heap := peakHeap(func() {
				resp, err := client.DownloadStored(ctx, rep.ID, items[0].ID, 0)
				if err != nil {
					b.Fatal(err)
				}
				zr, _ := gzip.NewReader(resp.Body)
				n, _ = io.Copy(io.Discard, zr)
				resp.Body.Close()
			})
			if n < size {
				b.Fatalf("copied %d bytes", n)
			}
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		}
	})
	b.Run("to-s3", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			job := &reports.Job{Client: client, Store: &objstore.S3{Client: s3c, Bucket: bucket}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Root: acronis.RootTenant{ID: sim.RootTenantID()}, PollMin: time.Millisecond}
			var res reports.Result
			var err error
			heap := peakHeap(func() { res, err = job.Run(ctx, spec) })
			if err != nil {
				b.Fatal(err)
			}
			if res.Objects[0].Bytes < size {
				b.Fatalf("stored %d bytes", res.Objects[0].Bytes)
			}
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
			spec.Date = time.Now().Add(time.Duration(b.N) * time.Hour).Format(time.RFC3339Nano) // a fresh request key each loop
		}
	})
}
