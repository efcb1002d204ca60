package objstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a local folder laid out like the bucket: key a/b/c is file
// Root/a/b/c. Metadata goes to Root/.meta/<key>.json so the data tree stays
// exactly the S3 layout. Writes go to a temporary file renamed into place.
type Dir struct {
	Root string
}

var _ Store = (*Dir)(nil)

const metaDir = ".meta"

func bytesReader(b []byte) io.ReadSeeker { return bytes.NewReader(b) }

func (d *Dir) write(key string, r io.Reader, o PutOptions, exclusive bool) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	p := filepath.Join(d.Root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("objstore: put %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".part-*")
	if err != nil {
		return fmt.Errorf("objstore: put %s: %w", key, err)
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("objstore: put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("objstore: put %s: %w", key, err)
	}
	if exclusive {
		// Link fails if the target exists: an atomic create-if-absent.
		if err := os.Link(f.Name(), p); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("objstore: put-if-absent %s: %w", key, ErrExists)
			}
			return fmt.Errorf("objstore: put-if-absent %s: %w", key, err)
		}
	} else if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("objstore: put %s: %w", key, err)
	}
	if o.ContentType != "" || o.ContentEncoding != "" || len(o.Metadata) > 0 {
		mp := filepath.Join(d.Root, metaDir, filepath.FromSlash(key)+".json")
		if err := os.MkdirAll(filepath.Dir(mp), 0o755); err != nil {
			return fmt.Errorf("objstore: put %s metadata: %w", key, err)
		}
		b, _ := json.MarshalIndent(o, "", "  ")
		if err := os.WriteFile(mp, b, 0o644); err != nil {
			return fmt.Errorf("objstore: put %s metadata: %w", key, err)
		}
	}
	return nil
}

// Put writes key atomically.
func (d *Dir) Put(_ context.Context, key string, r io.Reader, o PutOptions) error {
	return d.write(key, r, o, false)
}

// PutIfAbsent writes key only if it does not exist.
func (d *Dir) PutIfAbsent(_ context.Context, key string, r io.Reader, o PutOptions) error {
	return d.write(key, r, o, true)
}

// Get opens key.
func (d *Dir) Get(_ context.Context, key string) (io.ReadCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(d.Root, filepath.FromSlash(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("objstore: get %s: %w", key, ErrNotFound)
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("objstore: get %s: %w: %w", key, ErrAccessDenied, err)
	}
	if err != nil {
		return nil, fmt.Errorf("objstore: get %s: %w", key, err)
	}
	return f, nil
}

// Metadata reads what Put recorded for key (tests and the demo).
func (d *Dir) Metadata(key string) (PutOptions, error) {
	var o PutOptions
	b, err := os.ReadFile(filepath.Join(d.Root, metaDir, filepath.FromSlash(key)+".json"))
	if err != nil {
		return o, fmt.Errorf("objstore: metadata %s: %w", key, err)
	}
	return o, json.Unmarshal(b, &o)
}

// List yields keys under prefix in lexical order, skipping temporary files
// and metadata.
func (d *Dir) List(_ context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		var keys []string
		err := filepath.WalkDir(d.Root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			rel, _ := filepath.Rel(d.Root, p)
			rel = filepath.ToSlash(rel)
			if e.IsDir() {
				if rel == metaDir {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(e.Name(), ".part-") || !strings.HasPrefix(rel, prefix) {
				return nil
			}
			keys = append(keys, rel)
			return nil
		})
		if err != nil {
			yield("", fmt.Errorf("objstore: list %s: %w", prefix, err))
			return
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, nil) {
				return
			}
		}
	}
}
