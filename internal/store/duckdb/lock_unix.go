//go:build unix

package duckdb

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// fileLock is a held lock file: an exclusive flock on it, released by the
// kernel when the process ends, so a crashed holder never blocks the next
// one. The file is never removed (removing it would let two processes lock
// two different files); a clean release empties it.
type fileLock struct {
	f *os.File
}

// acquireLock takes the lock file at path for this process and writes info
// into it. stale is the holder a previous, dead process left in the file.
func acquireLock(dir, path string, info lockInfo) (l *fileLock, stale lockInfo, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, stale, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := io.ReadAll(f)
		_ = f.Close() // opened only to lock
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, ok := parseLockInfo(b)
			if !ok {
				// Held by a process that has not written its name yet.
				holder = lockInfo{cmd: "another process"}
			}
			return nil, stale, lockedError(dir, holder)
		}
		return nil, stale, fmt.Errorf("locking %s: %w", path, err)
	}
	if b, err := io.ReadAll(f); err == nil {
		stale, _ = parseLockInfo(b)
	}
	if err := f.Truncate(0); err != nil {
		_ = f.Close() // the write error is the one to report
		return nil, stale, fmt.Errorf("writing lock file %s: %w", path, err)
	}
	if _, err := f.WriteAt(info.encode(), 0); err != nil {
		_ = f.Close() // the write error is the one to report
		return nil, stale, fmt.Errorf("writing lock file %s: %w", path, err)
	}
	return &fileLock{f: f}, stale, nil
}

// update rewrites the holder's description.
func (l *fileLock) update(info lockInfo) error {
	if l == nil || l.f == nil {
		return fmt.Errorf("the store is not locked by this process")
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("writing lock file: %w", err)
	}
	if _, err := l.f.WriteAt(info.encode(), 0); err != nil {
		return fmt.Errorf("writing lock file: %w", err)
	}
	return nil
}

// release empties the lock file and unlocks it.
func (l *fileLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Truncate(0)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("releasing lock file: %w", err)
	}
	return nil
}

// readHolder returns the live holder named in the lock file at path. A
// file nobody has locked names nobody, whatever it says.
func readHolder(path string) (lockInfo, bool) {
	f, err := os.Open(path)
	if err != nil {
		return lockInfo{}, false
	}
	defer func() { _ = f.Close() }() // read-only
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		// Nobody holds it.
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return lockInfo{}, false
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return lockInfo{}, false
	}
	return parseLockInfo(b)
}
