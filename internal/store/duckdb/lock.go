package duckdb

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-siem/vigil/internal/store"
)

// The names of the files in a store directory.
const (
	// DBFile is the DuckDB database inside a store directory.
	DBFile = "vigil.duckdb"
	// LockFile names the process that holds the store for writing.
	LockFile = "vigil.lock"
)

// lockInfo is what a lock file says about its holder.
type lockInfo struct {
	pid  int
	cmd  string
	addr string
}

// encode returns the lock file's contents: one "key value" per line.
func (l lockInfo) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "pid %d\n", l.pid)
	fmt.Fprintf(&b, "command %s\n", oneLine(l.cmd))
	if l.addr != "" {
		fmt.Fprintf(&b, "addr %s\n", oneLine(l.addr))
	}
	return b.Bytes()
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// parseLockInfo reads a lock file's contents; ok is false when it names no
// process.
func parseLockInfo(b []byte) (l lockInfo, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch k {
		case "pid":
			l.pid, _ = strconv.Atoi(v)
		case "command":
			l.cmd = v
		case "addr":
			l.addr = v
		}
	}
	return l, l.pid > 0
}

// describe says who holds the store in dir, for error messages.
func (l lockInfo) describe(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the store in %s is held by ", dir)
	if l.cmd != "" {
		b.WriteString(l.cmd)
		b.WriteString(" ")
	}
	fmt.Fprintf(&b, "(pid %d", l.pid)
	if l.addr != "" {
		fmt.Fprintf(&b, ", %s", l.addr)
	}
	b.WriteString(")")
	if l.addr != "" {
		b.WriteString("; send requests to that server, or stop it first")
	} else {
		b.WriteString("; stop that process first")
	}
	return b.String()
}

// lockedError is returned when another process holds the store.
func lockedError(dir string, l lockInfo) error {
	return fmt.Errorf("%w: %s", store.ErrLocked, l.describe(dir))
}

// LockHolder reports which process holds the store in dir for writing:
// its pid, its command line and the HTTP address it serves on (empty when
// it serves none). ok is false when no live process holds the store (no
// lock file, an empty one, or one left by a process that has died). The
// CLI uses it to send requests to a running server instead of opening the
// store itself.
func LockHolder(dir string) (pid int, cmd, addr string, ok bool) {
	l, held := readHolder(filepath.Join(dir, LockFile))
	if !held {
		return 0, "", "", false
	}
	return l.pid, l.cmd, l.addr, true
}

// currentCommand is the command line recorded in the lock file.
func currentCommand() string {
	if len(os.Args) == 0 {
		return ""
	}
	args := append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)
	s := strings.Join(args, " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
