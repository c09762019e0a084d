package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// rowWriter appends CSV rows to a file. Rows are built whole in a buffer and
// written only at row boundaries (every flushBytes, and on Flush), so a run
// that is interrupted, or a file read while the run goes on, holds only
// complete rows.
type rowWriter struct {
	f       *os.File
	buf     []byte
	row     []byte
	started bool
	err     error
	rows    int64
}

const flushBytes = 64 << 10

func createRows(dir, name string, header ...string) (*rowWriter, error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	w := &rowWriter{f: f}
	for _, h := range header {
		w.str(h)
	}
	w.end()
	w.rows = 0
	return w, w.Flush()
}

func (w *rowWriter) str(s string) *rowWriter {
	if w.started {
		w.row = append(w.row, ',')
	}
	w.row = append(w.row, s...) // callers only pass CSV-safe text
	w.started = true
	return w
}

func (w *rowWriter) int(v int64) *rowWriter {
	w.str("")
	w.row = strconv.AppendInt(w.row, v, 10)
	return w
}

func (w *rowWriter) float(v float64, prec int) *rowWriter {
	w.str("")
	w.row = strconv.AppendFloat(w.row, v, 'f', prec, 64)
	return w
}

// secs writes a virtual time in seconds with microsecond precision.
func (w *rowWriter) secs(d time.Duration) *rowWriter { return w.float(d.Seconds(), 6) }

func (w *rowWriter) end() {
	w.row = append(w.row, '\n')
	w.buf = append(w.buf, w.row...)
	w.row = w.row[:0]
	w.started = false
	w.rows++
	if len(w.buf) >= flushBytes {
		w.Flush()
	}
}

// Flush writes all complete rows.
func (w *rowWriter) Flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.f.Write(w.buf)
	}
	w.buf = w.buf[:0]
	return w.err
}

// Close flushes and closes.
func (w *rowWriter) Close() error {
	err := w.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", w.f.Name(), err)
	}
	return nil
}
