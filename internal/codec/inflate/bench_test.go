package inflate

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// benchCorpus is a set of gzip files and the size of their content.
type benchCorpus struct {
	name  string
	files [][]byte
	plain int64
}

// benchCorpora returns CloudTrail-like JSON generated here (so the benchmark
// always runs) and, when the benchmark data set is present (make bench-data;
// VIGIL_BENCH_DATA overrides its place), its CloudTrail files.
func benchCorpora(b *testing.B) []benchCorpus {
	cs := []benchCorpus{{name: "generated", files: [][]byte{gzipData(b, cloudTrailJSON(1000, 1), gzip.DefaultCompression)}}}
	dir := os.Getenv("VIGIL_BENCH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "bench-data")
	}
	root := filepath.Join(dir, "s3", "aes-siem-123456789012-log", "AWSLogs", "123456789012", "CloudTrail")
	var files [][]byte
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return nil //nolint:nilerr // a missing data set only drops its corpus
		}
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatalf("reading %s: %v", p, err)
		}
		files = append(files, data)
		return nil
	})
	if len(files) > 0 {
		cs = append(cs, benchCorpus{name: "cloudtrail", files: files})
	} else {
		b.Logf("no CloudTrail files under %s (make bench-data): benchmarking generated data only", root)
	}
	for i := range cs {
		for _, f := range cs[i].files {
			zr, err := gzip.NewReader(bytes.NewReader(f))
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, zr)
			if err != nil {
				b.Fatal(err)
			}
			cs[i].plain += n
		}
	}
	return cs
}

// BenchmarkGzip compares GzipReader with klauspost/compress/gzip and
// compress/gzip. MB/s counts decompressed bytes. "copy" reads with io.Copy
// (through WriteTo where the reader has one); "read" calls Read with a
// 64 KiB buffer, as a consumer behind an io.Reader wrapper does.
func BenchmarkGzip(b *testing.B) {
	type resetReader interface {
		io.Reader
		Reset(io.Reader) error
	}
	decoders := []struct {
		name string
		r    resetReader
	}{
		{"vigil", new(GzipReader)},
		{"klauspost", new(kgzip.Reader)},
		{"stdlib", new(gzip.Reader)},
	}
	for _, c := range benchCorpora(b) {
		for _, d := range decoders {
			for _, mode := range []string{"copy", "read"} {
				b.Run(c.name+"/"+d.name+"/"+mode, func(b *testing.B) {
					buf := make([]byte, 64<<10)
					var rd bytes.Reader
					b.SetBytes(c.plain)
					b.ReportAllocs()
					for b.Loop() {
						var total int64
						for _, f := range c.files {
							rd.Reset(f)
							if err := d.r.Reset(&rd); err != nil {
								b.Fatal(err)
							}
							var n int64
							var err error
							if mode == "copy" {
								n, err = io.Copy(io.Discard, d.r)
							} else {
								n, err = readLoop(d.r, buf)
							}
							if err != nil {
								b.Fatal(err)
							}
							total += n
						}
						if total != c.plain {
							b.Fatalf("%d bytes, want %d", total, c.plain)
						}
					}
				})
			}
		}
	}
}

// readLoop reads r to its end with buf.
func readLoop(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF { //nolint:errorlint // the readers return io.EOF itself
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
