//go:build !unix

package duckdb

import (
	"errors"
	"fmt"
	"os"
)

// fileLock is a held lock file. Without flock, the file exists exactly
// while a process holds the store; one naming a process that no longer
// runs is stale and taken over.
type fileLock struct {
	path string
}

// acquireLock creates the lock file at path for this process and writes
// info into it. stale is the holder a previous, dead process left in it.
func acquireLock(dir, path string, info lockInfo) (l *fileLock, stale lockInfo, err error) {
	for range 2 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.Write(info.encode())
			cerr := f.Close()
			if werr != nil || cerr != nil {
				os.Remove(path)
				return nil, stale, fmt.Errorf("writing lock file %s: %w", path, errors.Join(werr, cerr))
			}
			return &fileLock{path: path}, stale, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, stale, fmt.Errorf("creating lock file %s: %w", path, err)
		}
		b, _ := os.ReadFile(path)
		holder, ok := parseLockInfo(b)
		if ok && processAlive(holder.pid) {
			return nil, stale, lockedError(dir, holder)
		}
		stale = holder
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, stale, fmt.Errorf("removing stale lock file %s: %w", path, err)
		}
	}
	return nil, stale, fmt.Errorf("creating lock file %s: another process keeps taking it", path)
}

// update rewrites the holder's description.
func (l *fileLock) update(info lockInfo) error {
	if l == nil || l.path == "" {
		return fmt.Errorf("the store is not locked by this process")
	}
	if err := os.WriteFile(l.path, info.encode(), 0o644); err != nil {
		return fmt.Errorf("writing lock file: %w", err)
	}
	return nil
}

// release removes the lock file.
func (l *fileLock) release() error {
	if l == nil || l.path == "" {
		return nil
	}
	err := os.Remove(l.path)
	l.path = ""
	if err != nil {
		return fmt.Errorf("releasing lock file: %w", err)
	}
	return nil
}

// readHolder returns the live holder named in the lock file at path.
func readHolder(path string) (lockInfo, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return lockInfo{}, false
	}
	l, ok := parseLockInfo(b)
	if !ok || !processAlive(l.pid) {
		return lockInfo{}, false
	}
	return l, true
}

// processAlive reports whether a process with the pid runs.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
