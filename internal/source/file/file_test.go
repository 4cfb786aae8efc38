package file_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/source/file"
)

// writeTree creates files (relative slash paths -> contents) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// errRecord collects OnError calls.
type errRecord struct {
	mu    sync.Mutex
	paths []string
	errs  []error
}

func (r *errRecord) onError(path string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.paths = append(r.paths, path)
	r.errs = append(r.errs, err)
}

// runAll runs the source to completion and returns the objects it sent.
func runAll(t *testing.T, s *file.Source) []*pipeline.Object {
	t.Helper()
	out := make(chan *pipeline.Object)
	done := make(chan error, 1)
	go func() {
		done <- s.Run(context.Background(), out)
		close(out)
	}()
	var objs []*pipeline.Object
	for o := range out {
		objs = append(objs, o)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return objs
}

func readObject(t *testing.T, o *pipeline.Object) string {
	t.Helper()
	rc, err := o.Open(context.Background())
	if err != nil {
		t.Fatalf("Open %s: %v", o.Origin.Path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSourceDirectoryTree(t *testing.T) {
	defer goleak.VerifyNone(t)
	root := filepath.Join(t.TempDir(), "my-log-bucket")
	files := map[string]string{
		"AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/b.json.gz": "bbb",
		"AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/a.json.gz": "a",
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/c.log.gz": "cccc",
		"Z-top.log":       "zz",
		"a-top.log":       "",
		"dir.with.dots/x": "x",
	}
	writeTree(t, root, files)
	// Something that is not a regular file must be left out.
	if err := os.Symlink(filepath.Join(root, "a-top.log"), filepath.Join(root, "link.log")); err != nil {
		t.Fatal(err)
	}
	var acks []event.Origin
	errs := &errRecord{}
	s := &file.Source{
		Paths:   []string{root},
		NewAck:  func(o event.Origin) *event.Ack { acks = append(acks, o); return event.NewAck(nil) },
		OnError: errs.onError,
	}
	objs := runAll(t, s)

	wantKeys := []string{ // lexical order of the paths
		"AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/a.json.gz",
		"AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/b.json.gz",
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/c.log.gz",
		"Z-top.log",
		"a-top.log",
		"dir.with.dots/x",
	}
	if len(objs) != len(wantKeys) {
		keys := make([]string, len(objs))
		for i, o := range objs {
			keys[i] = o.Origin.Key
		}
		t.Fatalf("got %d objects %q, want %d %q", len(objs), keys, len(wantKeys), wantKeys)
	}
	for i, o := range objs {
		want := event.Origin{
			Bucket: "my-log-bucket",
			Key:    wantKeys[i],
			Path:   filepath.Join(root, filepath.FromSlash(wantKeys[i])),
			Size:   int64(len(files[wantKeys[i]])),
		}
		if o.Origin != want {
			t.Errorf("object %d: Origin = %+v, want %+v", i, o.Origin, want)
		}
		if o.Ack == nil {
			t.Errorf("object %d: no Ack although NewAck is set", i)
		}
		if got := readObject(t, o); got != files[wantKeys[i]] {
			t.Errorf("object %d: contents %q, want %q", i, got, files[wantKeys[i]])
		}
	}
	if len(acks) != len(objs) {
		t.Errorf("NewAck called %d times, want %d", len(acks), len(objs))
	}
	if len(errs.paths) != 0 {
		t.Errorf("OnError called for %v: %v", errs.paths, errs.errs)
	}
}

func TestSourceTrailingSlashAndDotPaths(t *testing.T) {
	defer goleak.VerifyNone(t)
	parent := t.TempDir()
	root := filepath.Join(parent, "bucket")
	writeTree(t, root, map[string]string{"k/v.log": "1"})
	tests := []struct {
		name       string
		path       string
		wantBucket string
	}{
		{name: "trailing slash", path: root + string(filepath.Separator), wantBucket: "bucket"},
		{name: "unclean path", path: filepath.Join(parent, "bucket", "k", "..") + string(filepath.Separator) + ".", wantBucket: "bucket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := runAll(t, &file.Source{Paths: []string{tc.path}})
			if len(objs) != 1 {
				t.Fatalf("got %d objects, want 1", len(objs))
			}
			if o := objs[0].Origin; o.Bucket != tc.wantBucket || o.Key != "k/v.log" {
				t.Errorf("Origin = %+v, want bucket %q key k/v.log", o, tc.wantBucket)
			}
			if objs[0].Ack != nil {
				t.Errorf("Ack is set although NewAck is nil")
			}
		})
	}
}

func TestSourceFileGivenDirectly(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"AWSLogs/123456789012/CloudTrail/x.json": "{}"})
	p := filepath.Join(dir, "AWSLogs", "123456789012", "CloudTrail", "x.json")
	objs := runAll(t, &file.Source{Paths: []string{p}})
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want 1", len(objs))
	}
	want := event.Origin{Bucket: "", Key: filepath.ToSlash(p), Path: p, Size: 2}
	if objs[0].Origin != want {
		t.Errorf("Origin = %+v, want %+v", objs[0].Origin, want)
	}
	if got := readObject(t, objs[0]); got != "{}" {
		t.Errorf("contents = %q", got)
	}

	// A relative path is keyed as given.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join("AWSLogs", "123456789012", "CloudTrail", "x.json")
	objs = runAll(t, &file.Source{Paths: []string{rel}})
	if len(objs) != 1 || objs[0].Origin.Key != "AWSLogs/123456789012/CloudTrail/x.json" || objs[0].Origin.Path != rel {
		t.Errorf("relative path: got %+v", objs)
	}
}

func TestSourceErrorsContinue(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"good1/a.log":        "a",
		"good2/b.log":        "b",
		"mixed/ok/c.log":     "c",
		"mixed/secret/d.log": "d",
		"plainfile":          "p",
	})
	secret := filepath.Join(dir, "mixed", "secret")
	if err := os.Chmod(secret, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(secret, 0o755) })
	// Root ignores permission bits, so the unreadable directory can only be
	// checked when the test does not run as root.
	unreadable := false
	if _, err := os.ReadDir(secret); err != nil {
		unreadable = true
	}

	missing := filepath.Join(dir, "does-not-exist")
	underFile := filepath.Join(dir, "plainfile", "child")
	errs := &errRecord{}
	s := &file.Source{
		Paths:   []string{filepath.Join(dir, "good1"), missing, underFile, filepath.Join(dir, "mixed"), filepath.Join(dir, "good2")},
		OnError: errs.onError,
	}
	objs := runAll(t, s)
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Origin.Bucket+":"+o.Origin.Key)
	}
	want := []string{"good1:a.log", "mixed:ok/c.log", "good2:b.log"}
	if !unreadable {
		want = []string{"good1:a.log", "mixed:ok/c.log", "mixed:secret/d.log", "good2:b.log"}
		t.Log("running as root: the unreadable directory is readable; checking missing paths only")
	}
	if len(keys) != len(want) {
		t.Fatalf("objects = %q, want %q", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("objects = %q, want %q", keys, want)
			break
		}
	}
	wantErrPaths := []string{missing, underFile}
	if unreadable {
		wantErrPaths = append(wantErrPaths, secret)
	}
	if len(errs.paths) != len(wantErrPaths) {
		t.Fatalf("OnError paths = %q, want %q", errs.paths, wantErrPaths)
	}
	for i, p := range wantErrPaths {
		if errs.paths[i] != p {
			t.Errorf("OnError path %d = %q, want %q", i, errs.paths[i], p)
		}
		if errs.errs[i] == nil {
			t.Errorf("OnError %d: nil error", i)
		}
	}
	if !errors.Is(errs.errs[0], os.ErrNotExist) {
		t.Errorf("missing path error %v does not match os.ErrNotExist", errs.errs[0])
	}

	// Without OnError the walk still goes on.
	objs = runAll(t, &file.Source{Paths: []string{missing, filepath.Join(dir, "good2")}})
	if len(objs) != 1 || objs[0].Origin.Key != "b.log" {
		t.Errorf("without OnError: got %d objects", len(objs))
	}
}

func TestSourceContextCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	files := map[string]string{}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		files[n+".log"] = n
	}
	writeTree(t, dir, files)
	tests := []struct {
		name    string
		paths   []string
		receive int // objects taken before cancelling
	}{
		{name: "before the first send", paths: []string{dir}, receive: 0},
		{name: "in the middle of a directory", paths: []string{dir}, receive: 2},
		{name: "file given directly", paths: []string{filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")}, receive: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := make(chan *pipeline.Object) // unbuffered: each send waits for us
			done := make(chan error, 1)
			go func() { done <- (&file.Source{Paths: tc.paths}).Run(ctx, out) }()
			for range tc.receive {
				select {
				case <-out:
				case <-time.After(5 * time.Second):
					t.Fatal("no object sent")
				}
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run returned %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not stop after cancel")
			}
		})
	}
}

// TestWatchSendsNewAndChangedFiles checks the watch mode: files present at
// the start are sent at once, a new file once it is stable, a changed file
// again, an unchanged one never twice, and Run ends with ctx.
func TestWatchSendsNewAndChangedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.log", "first")
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan *pipeline.Object, 16)
	done := make(chan error, 1)
	defer goleak.VerifyNone(t)
	src := &file.Source{Paths: []string{dir}, Watch: 20 * time.Millisecond}
	go func() { done <- src.Run(ctx, out) }()
	next := func() string {
		t.Helper()
		select {
		case o := <-out:
			return o.Origin.Key
		case <-time.After(5 * time.Second):
			t.Fatal("no object within 5 s")
			return ""
		}
	}
	if k := next(); k != "a.log" {
		t.Fatalf("first object %q, want a.log", k)
	}
	write("b.log", "new")
	if k := next(); k != "b.log" {
		t.Fatalf("after adding b.log: %q", k)
	}
	time.Sleep(10 * time.Millisecond) // a modification time the file system can tell apart
	write("a.log", "first, and more")
	if k := next(); k != "a.log" {
		t.Fatalf("after changing a.log: %q", k)
	}
	select {
	case o := <-out:
		t.Fatalf("unchanged file sent again: %s", o.Origin.Key)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}
