//go:build cgo

package duckdb

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// genDocs returns n generated documents with their own copies of Source.
func genDocs(seed uint64, start time.Time, step time.Duration, n int) ([]store.Doc, int) {
	g := newDocGen(seed, start, step)
	docs := make([]store.Doc, n)
	bytes := 0
	for i := range docs {
		d := g.Next()
		d.Source = append([]byte(nil), d.Source...)
		docs[i] = d
		bytes += len(d.Source)
	}
	return docs, bytes
}

// envInt reads a positive integer from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkIngest writes generated documents in batches (VIGIL_BENCH_BATCH,
// default 10,000) into a fresh store and reports documents per second,
// including the final checkpoint that compresses them into the file.
func BenchmarkIngest(b *testing.B) {
	batch := envInt("VIGIL_BENCH_BATCH", 10000)
	n := envInt("VIGIL_BENCH_INGEST", 200000)
	docs, bytes := genDocs(1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 250*time.Millisecond, n)
	ctx := context.Background()
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		db, err := Open(ctx, dir, Options{Threads: 2, CheckpointWAL: os.Getenv("VIGIL_BENCH_WAL")}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for off := 0; off < len(docs); off += batch {
			if err := db.Write(ctx, docs[off:min(off+batch, len(docs))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}
