// Package tsmls drives ts-mls (an independent TypeScript implementation of
// RFC 9420, https://www.npmjs.com/package/ts-mls) through the small Node.js
// driver in bench/peers/tsmls/driver.mjs, for live interoperability tests
// against package mls.
//
// The driver speaks line-delimited JSON over stdin/stdout: one request
// object per line, answered in order by one reply object per line. Byte
// strings are hex. Messages are encoded MLSMessages (RFC 9420, Section 6).
// See bench/peers/tsmls/README.md for the command set.
package tsmls

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Hex is a byte string encoded as hex in JSON.
type Hex []byte

// MarshalJSON implements json.Marshaler.
func (h Hex) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hex) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = b
	return nil
}

// Reply is the union of the fields any driver command returns.
type Reply struct {
	ID    int    `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`

	// Member state after the command (most group commands).
	Epoch              uint64 `json:"epoch"`
	LeafIndex          uint32 `json:"leaf_index"`
	TreeHash           Hex    `json:"tree_hash"`
	EpochAuthenticator Hex    `json:"epoch_authenticator"`
	Active             bool   `json:"active"`

	KeyPackage Hex `json:"key_package"`
	Commit     Hex `json:"commit"`
	Welcome    Hex `json:"welcome"`
	Proposal   Hex `json:"proposal"`
	Message    Hex `json:"message"`
	GroupInfo  Hex `json:"group_info"`
	Tree       Hex `json:"tree"`
	Secret     Hex `json:"secret"`

	// process: "application", "proposal" or "commit".
	Kind string `json:"kind"`
	Data Hex    `json:"data"`
	AAD  Hex    `json:"aad"`

	// version
	TSMLS string `json:"ts_mls"`
	Node  string `json:"node"`
}

// ErrNotInstalled reports that node or the driver's node_modules are
// missing (run `npm ci` in bench/peers/tsmls).
var ErrNotInstalled = errors.New("tsmls: ts-mls driver not installed")

// DriverError is a command the driver answered with ok=false: ts-mls (or
// the driver) rejected it.
type DriverError struct {
	Cmd string
	Msg string
}

func (e *DriverError) Error() string { return fmt.Sprintf("ts-mls %s: %s", e.Cmd, e.Msg) }

// Driver is a running driver process. Its methods are safe for concurrent
// use; requests are serialized.
type Driver struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies *bufio.Scanner
	stderr  *lockedBuffer
	timeout time.Duration

	mu     sync.Mutex
	nextID int
	dead   error
}

// FindDir returns bench/peers/tsmls of the repository containing the
// working directory ($TSMLS_DRIVER_DIR overrides it).
func FindDir() (string, error) {
	if d := os.Getenv("TSMLS_DRIVER_DIR"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "bench", "peers", "tsmls"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tsmls: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// CheckInstalled returns an error wrapping ErrNotInstalled if node is not
// on PATH or dir lacks node_modules/ts-mls.
func CheckInstalled(dir string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("%w: node not on PATH", ErrNotInstalled)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ts-mls", "package.json")); err != nil {
		return fmt.Errorf("%w: %s/node_modules/ts-mls missing (run `cd %s && npm ci`)", ErrNotInstalled, dir, dir)
	}
	return nil
}

// Start launches `node driver.mjs` in dir. Each call waits at most timeout
// for its reply (0 means 60 s); a call that times out kills the process.
func Start(dir string, timeout time.Duration) (*Driver, error) {
	if err := CheckInstalled(dir); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	cmd := exec.Command("node", "driver.mjs")
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tsmls: starting node: %w", err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	return &Driver{cmd: cmd, stdin: stdin, replies: sc, stderr: stderr, timeout: timeout}, nil
}

// Call sends one command with the given arguments and waits for its reply.
// A reply with ok=false is returned as a *DriverError.
func (d *Driver) Call(cmd string, args map[string]any) (*Reply, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead != nil {
		return nil, d.dead
	}
	d.nextID++
	req := map[string]any{"id": d.nextID, "cmd": cmd}
	for k, v := range args {
		switch v := v.(type) {
		case []byte:
			req[k] = Hex(v)
		case [][]byte:
			hs := make([]Hex, len(v))
			for i := range v {
				hs[i] = v[i]
			}
			req[k] = hs
		default:
			req[k] = v
		}
	}
	line, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := d.stdin.Write(append(line, '\n')); err != nil {
		return nil, d.fail(fmt.Errorf("tsmls: writing %s: %w", cmd, err))
	}
	got := make(chan error, 1)
	go func() {
		if d.replies.Scan() {
			got <- nil
			return
		}
		err := d.replies.Err()
		if err == nil {
			err = io.EOF
		}
		got <- err
	}()
	timer := time.NewTimer(d.timeout)
	defer timer.Stop()
	select {
	case err := <-got:
		if err != nil {
			return nil, d.fail(fmt.Errorf("tsmls: reading reply to %s: %w", cmd, err))
		}
	case <-timer.C:
		_ = d.cmd.Process.Kill()
		<-got
		return nil, d.fail(fmt.Errorf("tsmls: %s timed out after %v", cmd, d.timeout))
	}
	var r Reply
	if err := json.Unmarshal(d.replies.Bytes(), &r); err != nil {
		return nil, d.fail(fmt.Errorf("tsmls: bad reply to %s: %w", cmd, err))
	}
	if r.ID != d.nextID {
		return nil, d.fail(fmt.Errorf("tsmls: reply id %d to request %d", r.ID, d.nextID))
	}
	if !r.OK {
		return &r, &DriverError{Cmd: cmd, Msg: r.Error}
	}
	return &r, nil
}

// fail marks the driver unusable, adding its stderr to err.
func (d *Driver) fail(err error) error {
	if s := strings.TrimSpace(d.stderr.String()); s != "" {
		err = fmt.Errorf("%w\nnode stderr:\n%s", err, s)
	}
	d.dead = err
	return err
}

// Stderr returns what the driver wrote to stderr so far.
func (d *Driver) Stderr() string { return d.stderr.String() }

// Close ends the driver (EOF on stdin) and waits for it to exit.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = d.stdin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = d.cmd.Process.Kill()
		return <-done
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
