package objstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/objstore/objstoretest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func stores(t *testing.T) map[string]objstore.Store {
	moto := mototest.Get(t)
	client := awsenv.S3(moto.Config())
	bucket := mototest.Name("bucket")
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return map[string]objstore.Store{
		"s3":  &objstore.S3{Client: client, Bucket: bucket, PartSize: 5 << 20},
		"dir": &objstore.Dir{Root: t.TempDir()},
	}
}

// The same contract holds for S3 (through moto) and the local folder.
func TestContract(t *testing.T) {
	ctx := context.Background()
	big := make([]byte, 12<<20+123) // three multipart parts
	rand.Read(big)
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				key  string
				body []byte
			}{
				{"usage/dt=2026-11-22/run=a/part-00000.jsonl.gz", []byte("one")},
				{"usage/dt=2026-11-22/run=a/_manifest.json", []byte(`{"complete":true}`)},
				{"reports/kind=usage_summary/dt=2026-11-01/r.csv", big},
			}
			for _, tt := range tests {
				if err := st.Put(ctx, tt.key, bytes.NewReader(tt.body), objstore.PutOptions{ContentType: "application/octet-stream", Metadata: map[string]string{"report-id": "r"}}); err != nil {
					t.Fatal(err)
				}
				rc, err := st.Get(ctx, tt.key)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				if !bytes.Equal(got, tt.body) {
					t.Fatalf("%s: read back %d bytes, wrote %d", tt.key, len(got), len(tt.body))
				}
			}
			var keys []string
			for k, err := range st.List(ctx, "usage/") {
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			}
			if len(keys) != 2 || keys[0] != tests[1].key {
				t.Fatalf("list: %v", keys)
			}
			if _, err := st.Get(ctx, "nope"); !errors.Is(err, objstore.ErrNotFound) {
				t.Fatalf("missing key: %v", err)
			}
			if err := st.PutIfAbsent(ctx, "markers/x", bytes.NewReader([]byte("1")), objstore.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := st.PutIfAbsent(ctx, "markers/x", bytes.NewReader([]byte("2")), objstore.PutOptions{}); !errors.Is(err, objstore.ErrExists) {
				t.Fatalf("second conditional write: %v", err)
			}
			for _, bad := range []string{"", "/abs", "a/../b", "a//b"} {
				if err := st.Put(ctx, bad, bytes.NewReader(nil), objstore.PutOptions{}); err == nil {
					t.Fatalf("key %q accepted", bad)
				}
			}
		})
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("source broke")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

// A stream that breaks part-way leaves nothing under the key.
func TestFailedPutLeavesNoObject(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			err := st.Put(ctx, "reports/broken.csv", &failingReader{n: 11 << 20}, objstore.PutOptions{})
			if err == nil {
				t.Fatal("put of a broken stream succeeded")
			}
			if _, err := st.Get(ctx, "reports/broken.csv"); !errors.Is(err, objstore.ErrNotFound) {
				t.Fatalf("partial object visible: %v", err)
			}
		})
	}
}

// Real S3 refuses a read of a missing key with 403 when the caller lacks
// s3:ListBucket; moto answers 404. Through a proxy that answers as AWS does,
// a refusal must come back as ErrAccessDenied and never as ErrNotFound.
func TestMissingVersusRefused(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	direct := awsenv.S3(moto.Config())
	bucket := mototest.Name("deny")
	if _, err := direct.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	cfg := moto.Config()
	cfg.BaseEndpoint = aws.String(objstoretest.DenyMissingKeys(t, moto.Endpoint))
	denying := &objstore.S3{Client: awsenv.S3(cfg), Bucket: bucket}
	plain := &objstore.S3{Client: direct, Bucket: bucket}
	if err := plain.Put(ctx, "reports/here.csv", bytes.NewReader([]byte("a,b\n")), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                     string
		st                       objstore.Store
		key                      string
		wantNotFound, wantDenied bool
	}{
		{"moto: missing key is 404", plain, "reports/absent.json", true, false},
		{"aws without ListBucket: missing key is 403", denying, "reports/absent.json", false, true},
		{"aws without ListBucket: present key reads", denying, "reports/here.csv", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := tt.st.Get(ctx, tt.key)
			if err == nil {
				rc.Close()
			}
			if errors.Is(err, objstore.ErrNotFound) != tt.wantNotFound || errors.Is(err, objstore.ErrAccessDenied) != tt.wantDenied {
				t.Fatalf("err %v: not-found %v (want %v), denied %v (want %v)", err,
					errors.Is(err, objstore.ErrNotFound), tt.wantNotFound, errors.Is(err, objstore.ErrAccessDenied), tt.wantDenied)
			}
			if tt.wantDenied && !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("the error does not name the key: %v", err)
			}
		})
	}
}
