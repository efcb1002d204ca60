package usage

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"

	"github.com/acp-serverless/acp-serverless/shared/objstore"
)

// PartInfo describes one written part.
type PartInfo struct {
	Key   string `json:"key"`
	Lines int64  `json:"lines"`
	Bytes int64  `json:"bytes"` // uncompressed
}

// partWriter streams lines into gzip parts of at most about maxBytes
// uncompressed each. Each part is one streaming Put fed through a pipe, so
// only the compressor's window and the store's upload buffer are in memory.
type partWriter struct {
	ctx      context.Context
	store    objstore.Store
	prefix   string // ".../run=<id>/"
	maxBytes int64

	parts []PartInfo
	cur   *openPart
}

type openPart struct {
	info PartInfo
	pw   *io.PipeWriter
	gz   *gzip.Writer
	done chan error
}

func (w *partWriter) open() {
	key := fmt.Sprintf("%spart-%05d.jsonl.gz", w.prefix, len(w.parts))
	pr, pw := io.Pipe()
	p := &openPart{info: PartInfo{Key: key}, pw: pw, gz: gzip.NewWriter(pw), done: make(chan error, 1)}
	go func() {
		err := w.store.Put(w.ctx, key, pr, objstore.PutOptions{ContentType: "application/x-ndjson", ContentEncoding: "gzip"})
		// Unblock the writer if Put stopped reading early.
		pr.CloseWithError(fmt.Errorf("upload of %s ended", key))
		p.done <- err
	}()
	w.cur = p
}

// write appends a chunk of whole lines (each ending in \n), rolling over to
// a new part at the first line end past maxBytes.
func (w *partWriter) write(chunk []byte) error {
	for len(chunk) > 0 {
		if w.cur == nil {
			w.open()
		}
		piece := chunk
		if room := w.maxBytes - w.cur.info.Bytes; int64(len(chunk)) > room {
			at := max(room-1, 0)
			if i := bytes.IndexByte(chunk[at:], '\n'); i >= 0 {
				piece = chunk[:int(at)+i+1]
			}
		}
		if _, err := w.cur.gz.Write(piece); err != nil {
			return w.fail(fmt.Errorf("write %s: %w", w.cur.info.Key, err))
		}
		w.cur.info.Lines += int64(bytes.Count(piece, []byte{'\n'}))
		w.cur.info.Bytes += int64(len(piece))
		chunk = chunk[len(piece):]
		if w.cur.info.Bytes >= w.maxBytes {
			if err := w.closePart(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *partWriter) closePart() error {
	p := w.cur
	w.cur = nil
	if err := p.gz.Close(); err != nil {
		p.pw.CloseWithError(err)
		<-p.done
		return fmt.Errorf("finish %s: %w", p.info.Key, err)
	}
	p.pw.Close()
	if err := <-p.done; err != nil {
		return err
	}
	w.parts = append(w.parts, p.info)
	return nil
}

// fail aborts the open part: the store then keeps no object under its key.
func (w *partWriter) fail(err error) error {
	if w.cur != nil {
		w.cur.pw.CloseWithError(err)
		<-w.cur.done
		w.cur = nil
	}
	return err
}

// finish closes the last part.
func (w *partWriter) finish() error {
	if w.cur == nil {
		return nil
	}
	return w.closePart()
}
