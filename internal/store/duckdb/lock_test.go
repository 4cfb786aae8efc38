//go:build cgo

package duckdb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/store"
)

// lockHelper holds a store open in another process for
// TestLockAcrossProcesses, which runs the test binary with
// VIGIL_LOCK_HELPER_DIR set; TestMain calls it then and exits.
func lockHelper(dir string) {
	db, err := Open(context.Background(), dir, Options{Threads: 1, ServeAddr: "http://127.0.0.1:18080", Command: "vigil serve"}, nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if err := db.Write(context.Background(), fixture()); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	// Hold the store until killed or stdin closes.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	db.Close()
	os.Exit(0)
}

func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIGIL_LOCK_HELPER_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	pid := cmd.Process.Pid

	gotPid, gotCmd, gotAddr, ok := LockHolder(dir)
	if !ok || gotPid != pid || gotCmd != "vigil serve" || gotAddr != "http://127.0.0.1:18080" {
		t.Fatalf("LockHolder = %d %q %q %v, want %d", gotPid, gotCmd, gotAddr, ok, pid)
	}
	ctx := context.Background()
	for _, ro := range []bool{false, true} {
		_, err = Open(ctx, dir, Options{ReadOnly: ro, Threads: 1}, nil)
		if !errors.Is(err, store.ErrLocked) {
			t.Fatalf("Open (read-only %v) while another process writes: %v, want ErrLocked", ro, err)
		}
		want := fmt.Sprintf("the store in %s is held by vigil serve (pid %d, http://127.0.0.1:18080)", dir, pid)
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}

	// The holder dies without cleaning up: its lock is stale and taken
	// over, and the data it committed is there.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, _, _, ok := LockHolder(dir); ok {
		t.Fatal("LockHolder names a dead process")
	}
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	if err != nil || !strings.Contains(string(b), fmt.Sprintf("pid %d", pid)) {
		t.Fatalf("the dead holder's lock file should still name it: %q %v", b, err)
	}
	db, err := Open(ctx, dir, Options{Threads: 1}, testLogger(t))
	if err != nil {
		t.Fatalf("Open after the holder died: %v", err)
	}
	defer db.Close()
	if n := count(t, db, store.Filter{}); n != int64(len(fixture())) {
		t.Fatalf("%d documents after taking over, want %d", n, len(fixture()))
	}
	gotPid, _, _, ok = LockHolder(dir)
	if !ok || gotPid != os.Getpid() {
		t.Fatalf("LockHolder after taking over = %d %v, want this process", gotPid, ok)
	}
}

func TestLockInOneProcess(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(ctx, dir, Options{Threads: 1, Command: "vigil load"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dir, Options{Threads: 1}, nil)
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("held by vigil load (pid %d); stop that process first", os.Getpid())) {
		t.Fatalf("second Open: %v", err)
	}
	if err := db.SetServeAddr("http://127.0.0.1:9999"); err != nil {
		t.Fatal(err)
	}
	if pid, cmd, addr, ok := LockHolder(dir); !ok || pid != os.Getpid() || cmd != "vigil load" || addr != "http://127.0.0.1:9999" {
		t.Fatalf("LockHolder after SetServeAddr = %d %q %q %v", pid, cmd, addr, ok)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := LockHolder(dir); ok {
		t.Fatal("LockHolder names a closed store's process")
	}
	if b, err := os.ReadFile(filepath.Join(dir, LockFile)); err != nil || len(b) != 0 {
		t.Fatalf("lock file after Close: %q %v", b, err)
	}
	db, err = Open(ctx, dir, Options{Threads: 1}, nil)
	if err != nil {
		t.Fatalf("reopening after Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := db.Write(ctx, fixture()); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestLockInfoRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   lockInfo
	}{
		{name: "all", in: lockInfo{pid: 42, cmd: "vigil serve --config x.yaml", addr: "http://[::1]:8080"}},
		{name: "no address", in: lockInfo{pid: 7, cmd: "vigil load"}},
		{name: "newlines are flattened", in: lockInfo{pid: 9, cmd: "a\nb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseLockInfo(tt.in.encode())
			want := tt.in
			want.cmd = strings.ReplaceAll(want.cmd, "\n", " ")
			if !ok || got != want {
				t.Fatalf("round trip %+v -> %+v %v", tt.in, got, ok)
			}
		})
	}
	if _, ok := parseLockInfo(nil); ok {
		t.Fatal("an empty lock file names a holder")
	}
}
