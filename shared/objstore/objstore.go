// Package objstore writes, reads and lists the project's objects (outputs,
// and the records jobs keep between runs): S3 in Lambda, a local folder with
// the same key layout in the demo. Bodies are streamed; nothing here holds a
// whole object in memory. The S3 adapter lives here, beside the Store it
// implements, as every AWS adapter does (notify's package comment says where
// the others are).
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
)

// ErrExists is returned by PutIfAbsent when the key is already taken.
var ErrExists = errors.New("object already exists")

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("object not found")

// ErrAccessDenied is returned when the store refuses the call (S3 403). Real
// S3 answers a read of a missing key with 403 AccessDenied, not 404, when the
// caller lacks s3:ListBucket: so a refusal is never proof that a key is
// absent, and callers must not treat it as ErrNotFound.
var ErrAccessDenied = errors.New("access denied")

// PutOptions describe an object.
type PutOptions struct {
	ContentType     string
	ContentEncoding string
	Metadata        map[string]string
}

// Store is what the jobs write to and read back from.
type Store interface {
	// Put streams r to key. A failed Put leaves no object under key.
	Put(ctx context.Context, key string, r io.Reader, o PutOptions) error
	// PutIfAbsent writes only when key does not exist yet (ErrExists otherwise).
	PutIfAbsent(ctx context.Context, key string, r io.Reader, o PutOptions) error
	// Get opens an object (ErrNotFound when missing, ErrAccessDenied when
	// refused, which may also mean missing without s3:ListBucket).
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List yields the keys under prefix in lexical order.
	List(ctx context.Context, prefix string) iter.Seq2[string, error]
}

// CheckKey rejects keys that would escape a prefix or a local folder.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errors.New("objstore: empty key")
	case key[0] == '/':
		return fmt.Errorf("objstore: key %q: must not start with /", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == ".." || part == "." || part == "" {
			return fmt.Errorf("objstore: key %q: empty, . or .. segment", key)
		}
	}
	return nil
}
