// Package file is the local-file source: it walks the paths given on the
// command line and hands out one object per regular file, keyed the way the
// same object would be keyed in S3.
package file

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

// Source walks files and directories. For a directory, each file's key is
// its path relative to that directory (so a local mirror of a log bucket,
// AWSLogs/<account>/..., is detected as the S3 object would be) and its
// bucket is the directory's base name. A file given directly is keyed by
// the path as given.
type Source struct {
	// Paths are the files and directories to read.
	Paths []string
	// NewAck returns the token for one object; nil means no tracking.
	NewAck func(event.Origin) *event.Ack
	// OnError is told about paths that cannot be walked; the walk goes on.
	OnError func(path string, err error)
	// Watch, when positive, keeps the source running after the first
	// pass: the paths are walked again every Watch, and a file that is new
	// or changed since it was sent is sent (again) once its size and
	// modification time have stayed the same over one interval. Sending a
	// changed file again is safe: documents have stable ids.
	Watch time.Duration
}

// Run sends one object per regular file, in lexical order per directory.
// With Watch set it then keeps watching until ctx ends.
func (s *Source) Run(ctx context.Context, out chan<- *pipeline.Object) error {
	sent := map[string]stamp{}
	for _, f := range s.walk() {
		if err := s.send(ctx, out, f.origin); err != nil {
			return err
		}
		sent[f.origin.Path] = f.stamp
	}
	if s.Watch <= 0 {
		return nil
	}
	// A new or changed file is sent once it has looked the same on two
	// walks in a row, so a file still being written is not read half-way.
	waiting := map[string]stamp{}
	tick := time.NewTicker(s.Watch)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for _, f := range s.walk() {
			p := f.origin.Path
			if old, ok := sent[p]; ok && old == f.stamp {
				continue
			}
			if w, ok := waiting[p]; !ok || w != f.stamp {
				waiting[p] = f.stamp
				continue
			}
			delete(waiting, p)
			if err := s.send(ctx, out, f.origin); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			sent[p] = f.stamp
		}
	}
}

// stamp tells whether a file changed: its size and modification time.
type stamp struct {
	size  int64
	mtime time.Time
}

// found is one file a walk found.
type found struct {
	origin event.Origin
	stamp  stamp
}

// walk lists the regular files under the paths, in lexical order per
// directory, reporting what cannot be read to OnError.
func (s *Source) walk() []found {
	var all []found
	for _, p := range s.Paths {
		st, err := os.Stat(p)
		if err != nil {
			s.fail(p, err)
			continue
		}
		if !st.IsDir() {
			all = append(all, found{event.Origin{Key: filepath.ToSlash(p), Path: p, Size: st.Size()}, stamp{st.Size(), st.ModTime()}})
			continue
		}
		bucket := filepath.Base(filepath.Clean(p))
		var files []string
		werr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				s.fail(path, err)
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if werr != nil {
			s.fail(p, werr)
		}
		sort.Strings(files)
		for _, f := range files {
			rel, err := filepath.Rel(p, f)
			if err != nil {
				s.fail(f, err)
				continue
			}
			var size int64 = -1
			var st stamp
			if fi, err := os.Stat(f); err == nil {
				size = fi.Size()
				st = stamp{fi.Size(), fi.ModTime()}
			}
			all = append(all, found{event.Origin{Bucket: bucket, Key: filepath.ToSlash(rel), Path: f, Size: size}, st})
		}
	}
	return all
}

func (s *Source) fail(path string, err error) {
	if s.OnError != nil {
		s.OnError(path, fmt.Errorf("reading %s: %w", path, err))
	}
}

func (s *Source) send(ctx context.Context, out chan<- *pipeline.Object, o event.Origin) error {
	obj := &pipeline.Object{
		Origin: o,
		Open: func(context.Context) (pipeline.ReadCloser, error) {
			return os.Open(o.Path)
		},
	}
	if s.NewAck != nil {
		obj.Ack = s.NewAck(o)
	}
	select {
	case out <- obj:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
