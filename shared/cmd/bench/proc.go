package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// What the kernel counts of a process, from /proc (Linux only).

// clockTicks is USER_HZ, the unit of CPU times in /proc: 100 on Linux.
const clockTicks = 100

// rssKB returns the resident memory of process pid (VmRSS), in KiB.
func rssKB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}

// procStat returns the parent and the CPU time (user + system) of process
// pid and of its children it has waited for.
func procStat(pid int) (ppid int, cpu time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// pid (comm) state ppid … utime stime cutime cstime: fields 4 and 14
	// to 17; comm may hold spaces and parentheses, so count from its
	// closing one.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	ppid, _ = strconv.Atoi(f[1])
	var ticks int64
	for _, field := range f[11:15] {
		n, _ := strconv.ParseInt(field, 10, 64)
		ticks += n
	}
	return ppid, time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuTime returns the CPU time process pid has used, with that of the
// children it has waited for (a PostgreSQL backend that exited counts in
// the server's); 0 when it is gone.
func cpuTime(pid int) time.Duration {
	_, cpu, _ := procStat(pid)
	return cpu
}

// children returns the processes whose parent is pid.
func children(pid int) []int {
	paths, _ := filepath.Glob("/proc/[0-9]*")
	var kids []int
	for _, p := range paths {
		child, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		if ppid, _, err := procStat(child); err == nil && ppid == pid {
			kids = append(kids, child)
		}
	}
	return kids
}
