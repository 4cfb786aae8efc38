// Package bench measures Vigil's throughput on the benchmark set that
// `make bench` generates with the corpus generator (shared/corpus/
// esloader-compat/gen_data.py): files to serialized NDJSON, per log type.
package bench

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/app"
)

// dataDir returns the generated benchmark set or fails.
func dataDir(b *testing.B) string {
	dir := os.Getenv("VIGIL_BENCH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "bench-data")
	}
	root := filepath.Join(dir, "s3", "aes-siem-123456789012-log")
	if _, err := os.Stat(root); err != nil {
		b.Fatalf("benchmark data not found at %s: run `make bench-data`: %v", root, err)
	}
	return root
}

// sizeOf sums the uncompressed-agnostic on-disk size of a tree.
func countFiles(b *testing.B, dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(string, os.DirEntry, error) error { n++; return nil })
	return n
}

// BenchmarkLoad loads each log type's files to NDJSON written to
// /dev/null. It reports records/s; run it with -cpu 1 for the per-core
// figure and -cpu 2 for scaling.
func BenchmarkLoad(b *testing.B) {
	root := dataDir(b)
	for _, tc := range []struct {
		name    string
		dir     string
		records int
	}{
		{"cloudtrail", "AWSLogs/123456789012/CloudTrail", 100000},
		{"vpcflowlogs", "AWSLogs/123456789012/vpcflowlogs", 100000},
		{"guardduty", "AWSLogs/123456789012/GuardDuty", 20000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := filepath.Join(root, tc.dir)
			if countFiles(b, dir) < 2 {
				b.Fatalf("no files in %s", dir)
			}
			args := []string{"load", "--quiet", "--type", tc.name, "--workers", itoa(runtime.GOMAXPROCS(0)),
				"--sink", "ndjson:" + os.DevNull, "--dead-letter", filepath.Join(b.TempDir(), "dl.ndjson"), dir}
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				if code := app.Main(context.Background(), args, nil, io.Discard, io.Discard); code != 0 {
					b.Fatalf("vigil load exited %d", code)
				}
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(tc.records*b.N)/b.Elapsed().Seconds(), "records/s")
			// CPU time is steadier than wall time on a shared machine.
			b.ReportMetric(float64(tc.records*b.N)/cpu.Seconds(), "records/cpu-s")
		})
	}
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
