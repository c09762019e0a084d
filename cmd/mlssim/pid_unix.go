//go:build unix

package main

import (
	"errors"
	"syscall"
)

// pidAlive reports whether a process with this PID exists on this machine
// (signal 0 checks without signalling; EPERM means it exists as another
// user's). A recycled PID reads as alive.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
