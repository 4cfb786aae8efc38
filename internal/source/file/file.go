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
}

// Run sends one object per regular file, in lexical order per directory.
func (s *Source) Run(ctx context.Context, out chan<- *pipeline.Object) error {
	for _, p := range s.Paths {
		st, err := os.Stat(p)
		if err != nil {
			s.fail(p, err)
			continue
		}
		if !st.IsDir() {
			if err := s.send(ctx, out, event.Origin{Key: filepath.ToSlash(p), Path: p, Size: st.Size()}); err != nil {
				return err
			}
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
			if st, err := os.Stat(f); err == nil {
				size = st.Size()
			}
			o := event.Origin{Bucket: bucket, Key: filepath.ToSlash(rel), Path: f, Size: size}
			if err := s.send(ctx, out, o); err != nil {
				return err
			}
		}
	}
	return nil
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
