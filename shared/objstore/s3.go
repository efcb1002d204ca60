package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is a bucket. Put uses the multipart uploader, so memory is bounded by
// PartSize * Concurrency whatever the object's size.
type S3 struct {
	Client      *s3.Client
	Bucket      string
	PartSize    int64 // default 8 MiB
	Concurrency int   // parts in flight; default 2
}

var _ Store = (*S3)(nil)

// Put streams r into the bucket. The uploader aborts a failed multipart
// upload, so no partial object appears under key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, o PutOptions) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	up := manager.NewUploader(s.Client, func(u *manager.Uploader) {
		u.PartSize = max(s.PartSize, 8<<20)
		u.Concurrency = max(s.Concurrency, 2)
		u.LeavePartsOnError = false
	})
	_, err := up.Upload(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: r,
		ContentType: nonEmpty(o.ContentType), ContentEncoding: nonEmpty(o.ContentEncoding), Metadata: o.Metadata,
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return fmt.Errorf("objstore: put s3://%s/%s: %w", s.Bucket, key, err)
	}
	return nil
}

// PutIfAbsent is a conditional create (If-None-Match: *): the cheap
// idempotency marker S3 offers.
func (s *S3) PutIfAbsent(ctx context.Context, key string, r io.Reader, o PutOptions) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r, 5<<20+1))
	if err != nil {
		return fmt.Errorf("objstore: put-if-absent %s: read body: %w", key, err)
	}
	if len(body) > 5<<20 {
		return fmt.Errorf("objstore: put-if-absent %s: body over 5 MiB; conditional writes are for markers", key)
	}
	_, err = s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytesReader(body), IfNoneMatch: aws.String("*"),
		ContentType: nonEmpty(o.ContentType), ContentEncoding: nonEmpty(o.ContentEncoding), Metadata: o.Metadata,
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
			return fmt.Errorf("objstore: put-if-absent s3://%s/%s: %w", s.Bucket, key, ErrExists)
		}
		return fmt.Errorf("objstore: put-if-absent s3://%s/%s: %w", s.Bucket, key, err)
	}
	return nil
}

// Get opens an object.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("objstore: get s3://%s/%s: %w", s.Bucket, key, classify(err))
	}
	return out.Body, nil
}

// classify maps S3's answers to the store's sentinels, keeping the SDK's
// error in the chain. 404 NoSuchKey is ErrNotFound; NoSuchBucket is not (a missing bucket is a deployment
// error, not an absent object). Any 403 is ErrAccessDenied: AWS answers a
// missing key with 403 AccessDenied when the caller lacks s3:ListBucket.
func classify(err error) error {
	var nk *s3types.NoSuchKey
	var ae smithy.APIError
	var re *awshttp.ResponseError
	switch {
	case errors.As(err, &nk):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden,
		errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied":
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	}
	return err
}

// List walks every page of ListObjectsV2.
func (s *S3) List(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield("", fmt.Errorf("objstore: list s3://%s/%s: %w", s.Bucket, prefix, classify(err)))
				return
			}
			for _, o := range page.Contents {
				if !yield(aws.ToString(o.Key), nil) {
					return
				}
			}
		}
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
