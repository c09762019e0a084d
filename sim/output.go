package sim

// This file owns the outputs: the CSV files a run writes (events.csv,
// epochs.csv, compromises.csv), written row by row through rowWriter.

import (
	"errors"
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

// logEvent writes one row of events.csv (when the run writes it).
func (s *Sim) logEvent(kind string, m MemberID, epoch int64, bytes int64, detail string) {
	if s.out == nil || s.out.events == nil {
		return
	}
	w := s.out.events
	u := int64(-1)
	if m >= 0 {
		u = int64(s.members[m].user)
	}
	w.secs(s.now).int(int64(s.events)).str(kind).int(int64(m)).int(u).int(epoch).int(bytes).str(detail)
	w.end()
}

func (s *Sim) epochRowOut(f *inflight, res CommitResult, a *Applied, updates, removes int) {
	st := a.Tree
	s.st.treeSamples++
	s.st.blankSum += float64(st.BlankNodes) / float64(2*st.Leaves-1)
	if st.OccupiedNodes > 0 {
		s.st.occBlankSum += float64(st.OccupiedBlankNodes) / float64(st.OccupiedNodes)
	}
	s.st.lastTree = st
	defer func() { s.epochRow = epochCounters{} }()
	if s.out == nil {
		return
	}
	path := int64(0)
	if f.spec.Path {
		path = 1
	}
	w := s.out.epochs
	w.int(int64(s.epoch)).secs(s.now).int(int64(f.spec.Committer)).int(int64(res.CommitBytes)).int(int64(res.WelcomeBytes)).
		int(int64(res.PathCiphertexts)).int(int64(st.Members)).int(int64(st.Leaves)).int(int64(st.BlankNodes)).
		int(int64(st.BlankParents)).int(int64(st.UnmergedLeaves)).float(st.MeanCopathResolution(), 3).
		int(int64(s.epochRow.collisions)).int(int64(s.epochRow.retries)).int(int64(len(f.adds))).int(int64(removes)).
		int(int64(updates)).int(path).int(int64(st.RatchetTreeBytes)).int(res.CreateCPU.Microseconds()).
		int(int64(st.OccupiedNodes)).int(int64(st.OccupiedBlankNodes))
	w.end()
}

func csvSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			b[i] = '_'
		}
	}
	return string(b)
}

type outputs struct {
	dir                  string
	events, epochs, comp *rowWriter
}

func openOutputs(dir string, events bool) (*outputs, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	o := &outputs{dir: dir}
	var err error
	if events {
		if o.events, err = createRows(dir, "events.csv", "time_s", "seq", "event", "member", "user", "epoch", "bytes", "detail"); err != nil {
			return nil, fmt.Errorf("output directory: %w", err)
		}
	} else {
		os.Remove(dir + "/events.csv")
	}
	if o.epochs, err = createRows(dir, "epochs.csv", "epoch", "time_s", "committer", "commit_bytes", "welcome_bytes",
		"path_ciphertexts", "group_size", "leaves", "blank_nodes", "blank_parents", "unmerged_leaves",
		"mean_copath_resolution", "collisions", "retries", "adds", "removes", "updates", "path", "ratchet_tree_bytes",
		"create_cpu_us", "occupied_nodes", "occupied_blank_nodes"); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if o.comp, err = createRows(dir, "compromises.csv", compromiseHeader...); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	return o, nil
}

func (o *outputs) close() error {
	var errs []error
	for _, w := range []*rowWriter{o.events, o.epochs, o.comp} {
		if w != nil {
			errs = append(errs, w.Close())
		}
	}
	return errors.Join(errs...)
}
