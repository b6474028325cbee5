package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"

	"go.uber.org/zap"
)

// StreamJSON answers 200 with the JSON array of what each yields, written
// as the items come rather than collected first, or the error of each. An
// error before anything was sent is answered with its status; after that
// the status is sent and cannot change, so the response is cut short.
func StreamJSON[T any](w http.ResponseWriter, r *http.Request, log *zap.Logger, each func(yield func(T) error) error) {
	StreamJSONIn(w, r, log, "", "", each)
}

// StreamJSONIn is StreamJSON for an array inside a document: head is what
// comes before it, such as {"person":{…},"locations":, and tail what comes
// after it, such as }.
func StreamJSONIn[T any](w http.ResponseWriter, r *http.Request, log *zap.Logger, head, tail string, each func(yield func(T) error) error) {
	sent, err := writeArray(w, head, tail, each)
	switch {
	case err == nil:
	case !sent:
		if ErrorStatus(err) >= 500 {
			log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
		}
		WriteError(w, err)
	default:
		log.Error("answer cut short", zap.String("path", r.URL.Path), zap.Error(err))
		panic(http.ErrAbortHandler) // the server closes the connection without a stack trace
	}
}

// StreamBuffer is how much of a streamed array is held before the first
// bytes, and with them the status, are sent: answers up to this size are
// sent whole, or replaced by an error.
const StreamBuffer = 32 << 10

// writeArray answers 200 with the JSON array of what each yields, each item
// encoded as it comes, through a buffer of StreamBuffer bytes. An error of
// each before the buffer was first sent is returned with sent false: the
// caller can still answer it. After that, sent is true and the array is left
// unclosed: the caller must abort the response, so that the client sees it
// cut short rather than a shorter list that looks complete.
func writeArray[T any](w http.ResponseWriter, head, tail string, each func(yield func(T) error) error) (sent bool, err error) {
	lw := &lazyWriter{w: w}
	bw := bufio.NewWriterSize(lw, StreamBuffer)
	bw.WriteString(head)
	// One buffer and encoder for every item, rather than json.Marshal's
	// copy of each; the encoder ends each item with a newline, left out.
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	sep := "["
	err = each(func(v T) error {
		item.Reset()
		if err := enc.Encode(v); err != nil {
			return err
		}
		bw.WriteString(sep)
		_, err := bw.Write(item.Bytes()[:item.Len()-1])
		sep = ","
		return err
	})
	if err != nil {
		return lw.started, err
	}
	if sep == "[" {
		bw.WriteString(sep)
	}
	bw.WriteString("]" + tail + "\n")
	return true, bw.Flush()
}

// lazyWriter sends the status and headers of a JSON answer with its first
// bytes.
type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (lw *lazyWriter) Write(p []byte) (int, error) {
	if !lw.started {
		lw.started = true
		lw.w.Header().Set("Content-Type", "application/json")
		lw.w.WriteHeader(http.StatusOK)
	}
	return lw.w.Write(p)
}
