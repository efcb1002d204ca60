package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/aws/aws-sdk-go-v2/aws"
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
		var nk *s3types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, fmt.Errorf("objstore: get s3://%s/%s: %w", s.Bucket, key, ErrNotFound)
		}
		return nil, fmt.Errorf("objstore: get s3://%s/%s: %w", s.Bucket, key, err)
	}
	return out.Body, nil
}

// List walks every page of ListObjectsV2.
func (s *S3) List(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield("", fmt.Errorf("objstore: list s3://%s/%s: %w", s.Bucket, prefix, err))
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
