package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// A process's CPU time counts its children that exited, as a PostgreSQL
// server's counts the backends that closed.
func TestCPUTimeCountsExitedChildren(t *testing.T) {
	before := cpuTime(os.Getpid())
	child := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	used := child.ProcessState.UserTime() + child.ProcessState.SystemTime()
	got := cpuTime(os.Getpid()) - before
	// /proc counts in clock ticks; the child's own figure is exact.
	if tick := time.Second / clockTicks; got < used-2*tick {
		t.Errorf("CPU time grew by %s while a child used %s and exited", got, used)
	}
}
