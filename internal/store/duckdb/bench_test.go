//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
	storesink "github.com/vigil-siem/vigil/internal/sink/store"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/web"
)

// genDocs returns n generated documents with their own copies of Source.
func genDocs(seed uint64, start time.Time, step time.Duration, n int) ([]store.Doc, int) {
	docs := newDocGen(seed, start, step).batch(n)
	bytes := 0
	for _, d := range docs {
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
// default 20,000, the store sink's write size) into a fresh store and
// reports documents per second, including the final checkpoint that
// compresses them into the file ("fresh"); "replay" then writes the same
// documents again, each replacing its stored copy. VIGIL_BENCH_NO_ROLLUPS
// leaves out the marks each write leaves for the rollups;
// VIGIL_BENCH_THREADS, VIGIL_BENCH_WRITERS, VIGIL_BENCH_BUILDERS and
// VIGIL_BENCH_WAL set the Options of the same names.
func BenchmarkIngest(b *testing.B) {
	batch := envInt("VIGIL_BENCH_BATCH", 20000)
	n := envInt("VIGIL_BENCH_INGEST", 200000)
	docs, bytes := genDocs(1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 250*time.Millisecond, n)
	ctx := context.Background()
	write := func(b *testing.B, db *DB) {
		for off := 0; off < len(docs); off += batch {
			if err := db.Write(ctx, docs[off:min(off+batch, len(docs))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	open := func(b *testing.B) *DB {
		db, err := Open(ctx, b.TempDir(), Options{Threads: envInt("VIGIL_BENCH_THREADS", 2), Writers: envInt("VIGIL_BENCH_WRITERS", 0), Builders: envInt("VIGIL_BENCH_BUILDERS", 0), CheckpointWAL: os.Getenv("VIGIL_BENCH_WAL")}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if os.Getenv("VIGIL_BENCH_NO_ROLLUPS") != "" {
			// Leave out the rollups' write marks, to measure their cost.
			db.roll.inited, db.roll.off = true, errRollupsOff
		}
		return db
	}
	b.Run("fresh", func(b *testing.B) {
		b.SetBytes(int64(bytes))
		var cpu time.Duration
		var size int64
		for b.Loop() {
			b.StopTimer()
			db := open(b)
			b.StartTimer()
			c0 := cpuTime()
			write(b, db)
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			cpu += cpuTime() - c0
			if fi, err := os.Stat(filepath.Join(db.Dir(), DBFile)); err == nil {
				size = fi.Size()
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/doc")
		b.ReportMetric(float64(size)/float64(n), "file-B/doc")
	})
	b.Run("replay", func(b *testing.B) {
		b.SetBytes(int64(bytes))
		var cpu time.Duration
		for b.Loop() {
			b.StopTimer()
			db := open(b)
			write(b, db)
			b.StartTimer()
			c0 := cpuTime()
			write(b, db)
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			cpu += cpuTime() - c0
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/doc")
	})
}

// countingStore counts the writes that reach the store.
type countingStore struct {
	*DB
	writes atomic.Int64
}

func (c *countingStore) Write(ctx context.Context, docs []store.Doc) error {
	c.writes.Add(1)
	return c.DB.Write(ctx, docs)
}

// BenchmarkSinkIngest feeds generated documents (VIGIL_BENCH_INGEST,
// default 491,520: four row groups) through the store sink in pipeline
// batches of 1,000, as fast as the sink takes them, into a fresh store, and
// reports documents per second up to the final checkpoint, with the sink's
// default limits: the rate at which the pipeline can load the store. It
// also reports the mean size of the sink's writes.
func BenchmarkSinkIngest(b *testing.B) {
	n := envInt("VIGIL_BENCH_INGEST", 491520)
	docs, bytes := genDocs(1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 250*time.Millisecond, n)
	var batches []*pipeline.Batch
	for off := 0; off < n; off += 1000 {
		pb := &pipeline.Batch{}
		for _, d := range docs[off:min(off+1000, n)] {
			pb.Docs = append(pb.Docs, event.Document{ID: d.ID, Index: d.Index, LogType: d.LogType, TimestampMs: d.TimestampMs, Source: d.Source})
		}
		batches = append(batches, pb)
	}
	ctx := context.Background()
	b.SetBytes(int64(bytes))
	var cpu time.Duration
	var writes int64
	for b.Loop() {
		b.StopTimer()
		db, err := Open(ctx, b.TempDir(), Options{Threads: 2}, nil)
		if err != nil {
			b.Fatal(err)
		}
		cs := &countingStore{DB: db}
		ack := event.NewAck(nil)
		sink := storesink.New(cs, nil)
		b.StartTimer()
		c0 := cpuTime()
		for _, pb := range batches {
			ack.Add(len(pb.Docs))
			for i := range pb.Docs {
				pb.Docs[i].Ack = ack
			}
			if err := sink.Write(ctx, pb); err != nil {
				b.Fatal(err)
			}
		}
		if err := sink.Close(ctx); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		writes += cs.writes.Load()
		if got := sink.Delivered(); got != int64(n) {
			b.Fatalf("%d documents delivered, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/doc")
	b.ReportMetric(float64(n*b.N)/float64(writes), "docs/write")
}

// BenchmarkDuckDBAlone measures what DuckDB alone costs for the rows Vigil
// writes, as a ceiling for BenchmarkIngest: generated documents
// (VIGIL_BENCH_INGEST, default 491,520) are stored once by Vigil, copied
// into an in-memory table, and then copied from there by INSERT ... SELECT
// into the docs table of a fresh database file, followed by a checkpoint:
// no JSON scanning, no document compression, no Go code per row. The
// sub-benchmarks insert in transactions of the store sink's write size
// (20,000 rows) and in one transaction.
func BenchmarkDuckDBAlone(b *testing.B) {
	n := envInt("VIGIL_BENCH_INGEST", 491520)
	ctx := context.Background()
	src := b.TempDir()
	st, err := Open(ctx, src, Options{Threads: 2}, nil)
	if err != nil {
		b.Fatal(err)
	}
	docs, _ := genDocs(1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 250*time.Millisecond, n)
	for off := 0; off < n; off += 50000 {
		if err := st.Write(ctx, docs[off:min(off+50000, n)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	docs = nil
	conn, err := duck.NewConnector("?threads=2&checkpoint_threshold=1GB", nil)
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: the temporary table lives on it
	exec := func(q string) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	exec("ATTACH " + sqlString(filepath.Join(src, DBFile)) + " AS src (READ_ONLY)")
	var ddl string
	if err := db.QueryRowContext(ctx, `SELECT sql FROM duckdb_tables() WHERE database_name = 'src' AND table_name = 'docs'`).Scan(&ddl); err != nil {
		b.Fatal(err)
	}
	exec("CREATE TEMP TABLE rows AS SELECT * FROM src.main.docs ORDER BY rowid")
	exec("DETACH src")
	for _, batch := range []int{20000, n} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				exec("ATTACH " + sqlString(filepath.Join(b.TempDir(), DBFile)) + " AS dst (ROW_GROUP_SIZE " + strconv.Itoa(rowGroupSize()) + ")")
				exec("USE dst")
				exec(ddl)
				b.StartTimer()
				c0 := cpuTime()
				for off := 0; off < n; off += batch {
					exec(fmt.Sprintf("INSERT INTO docs SELECT * FROM temp.rows WHERE rowid >= %d AND rowid < %d", off, off+batch))
				}
				exec("CHECKPOINT")
				cpu += cpuTime() - c0
				b.StopTimer()
				exec("USE memory")
				exec("DETACH dst")
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/doc")
		})
	}
}

// cpuTime returns the CPU time (user and system) this process has used:
// steadier than wall time on a machine shared with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchEnd is the end of the generated month of documents.
var benchEnd = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// openBenchStore returns a store holding VIGIL_BENCH_DOCS generated
// documents (default 100,000) spread over the 30 days before benchEnd. With
// VIGIL_BENCH_DIR set, the store is kept there and reused by later runs.
// With VIGIL_BENCH_NO_ROLLUPS set, aggregations read the documents only.
func openBenchStore(b *testing.B) (*DB, int) {
	n := envInt("VIGIL_BENCH_DOCS", 100000)
	dir := os.Getenv("VIGIL_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	ctx := context.Background()
	db, err := Open(ctx, dir, Options{Threads: 2, MemoryLimit: "4GB"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	have := int(count(b, db, store.Filter{}))
	if have < n*9/10 {
		span := 30 * 24 * time.Hour
		g := newDocGen(uint64(n), benchEnd.Add(-span), span/time.Duration(n))
		batch := make([]store.Doc, 0, 50000)
		arena := make([]byte, 0, 64<<20)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			d := g.Next()
			start := len(arena)
			arena = append(arena, d.Source...)
			d.Source = arena[start:]
			batch = append(batch, d)
			if len(batch) == cap(batch) || i == n-1 {
				if err := db.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch, arena = batch[:0], arena[:0]
				if (i+1)%1000000 < cap(batch) {
					fmt.Fprintf(os.Stderr, "%d documents, %.0f docs/s\n", i+1, float64(i+1)/time.Since(t0).Seconds())
				}
			}
		}
		if _, err := db.w.conn().ExecContext(ctx, "CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "generated and stored %d documents in %v\n", n, time.Since(t0))
	}
	if os.Getenv("VIGIL_BENCH_NO_ROLLUPS") != "" {
		// Measure the plain SQL: as if the rollup tables could not be made.
		db.roll.inited, db.roll.off = true, errRollupsOff
	}
	size, _ := db.dataBytes(ctx)
	have = int(count(b, db, store.Filter{}))
	fmt.Fprintf(os.Stderr, "store: %d documents, %d MB\n", have, size>>20)
	return db, have
}

// BenchmarkQueries measures the console's typical requests on a month of
// documents (VIGIL_BENCH_DOCS of them, default 100,000; the performance
// figures in docs/store.md use 10,000,000), and every dashboard panel over
// the last 30 days, and reports the median latency of each, the first
// run's and the slowest (a store without rollups reads the documents the
// first time and builds the rollup a panel needs the second).
func BenchmarkQueries(b *testing.B) {
	db, _ := openBenchStore(b)
	defer db.Close()
	ctx := context.Background()
	day := benchEnd.Add(-24 * time.Hour).UnixMilli()
	end := benchEnd.UnixMilli()
	month := benchEnd.Add(-30 * 24 * time.Hour).UnixMilli()
	last24h := store.Filter{From: day, To: end}
	last7d := store.Filter{From: benchEnd.Add(-7 * 24 * time.Hour).UnixMilli(), To: end}
	all := store.Filter{From: month, To: end}
	ct := func(f store.Filter) store.Filter { f.LogTypes = []string{"cloudtrail"}; return f }
	vpc := func(f store.Filter) store.Filter { f.LogTypes = []string{"vpcflowlogs"}; return f }
	type q struct {
		name   string
		agg    *store.AggRequest
		search *store.SearchRequest
		get    bool
	}
	queries := []q{
		{name: "terms_eventName_24h", agg: &store.AggRequest{Kind: store.AggTerms, Field: "event.action", Size: 10, Filter: ct(last24h)}},
		{name: "terms_eventName_7d", agg: &store.AggRequest{Kind: store.AggTerms, Field: "event.action", Size: 10, Filter: ct(last7d)}},
		{name: "terms_eventName_30d", agg: &store.AggRequest{Kind: store.AggTerms, Field: "event.action", Size: 10, Filter: ct(all)}},
		{name: "terms_eventName_json_24h", agg: &store.AggRequest{Kind: store.AggTerms, Field: "eventName", Size: 10, Filter: ct(last24h)}},
		{name: "histogram_24h", agg: &store.AggRequest{Kind: store.AggDateHistogram, Filter: last24h}},
		{name: "histogram_7d", agg: &store.AggRequest{Kind: store.AggDateHistogram, Filter: last7d}},
		{name: "histogram_30d", agg: &store.AggRequest{Kind: store.AggDateHistogram, Filter: all}},
		{name: "histogram_outcome_30d", agg: &store.AggRequest{Kind: store.AggDateHistogram, Field: "event.outcome", Size: 5, Filter: all}},
		{name: "terms_country_24h", agg: &store.AggRequest{Kind: store.AggTerms, Field: "source.geo.country_iso_code", Size: 20, Filter: last24h}},
		{name: "terms_country_7d", agg: &store.AggRequest{Kind: store.AggTerms, Field: "source.geo.country_iso_code", Size: 20, Filter: last7d}},
		{name: "terms_country_30d", agg: &store.AggRequest{Kind: store.AggTerms, Field: "source.geo.country_iso_code", Size: 20, Filter: all}},
		{name: "terms2_region_service_24h", agg: &store.AggRequest{Kind: store.AggTerms2, Field: "cloud.region", Field2: "event.module", Size: 50, Filter: ct(last24h)}},
		{name: "terms2_region_service_7d", agg: &store.AggRequest{Kind: store.AggTerms2, Field: "cloud.region", Field2: "event.module", Size: 50, Filter: ct(last7d)}},
		{name: "terms2_region_service_30d", agg: &store.AggRequest{Kind: store.AggTerms2, Field: "cloud.region", Field2: "event.module", Size: 50, Filter: ct(all)}},
		{name: "top_talkers_bytes_24h", agg: &store.AggRequest{Kind: store.AggTerms, Field: "source.ip", Metric: "network.bytes", Size: 10, Filter: vpc(last24h)}},
		{name: "top_talkers_bytes_7d", agg: &store.AggRequest{Kind: store.AggTerms, Field: "source.ip", Metric: "network.bytes", Size: 10, Filter: vpc(last7d)}},
		{name: "top_talkers_bytes_30d", agg: &store.AggRequest{Kind: store.AggTerms, Field: "source.ip", Metric: "network.bytes", Size: 10, Filter: vpc(all)}},
		{name: "count_rejects_cidr_30d", agg: &store.AggRequest{Kind: store.AggCount, Filter: store.Filter{From: month, To: end, Query: "event.action:REJECT AND NOT source.ip:10.0.0.0/8"}}},
		{name: "cardinality_users_30d", agg: &store.AggRequest{Kind: store.AggCardinality, Field: "user.name", Filter: all}},
		{name: "search_freetext_24h", search: &store.SearchRequest{Limit: 100, Filter: store.Filter{From: day, To: end, Query: "AccessDenied"}}},
		{name: "search_phrase_24h", search: &store.SearchRequest{Limit: 100, Filter: store.Filter{From: day, To: end, Query: `"Failed password for invalid user"`}}},
		{name: "search_field_24h", search: &store.SearchRequest{Limit: 100, Filter: store.Filter{From: day, To: end, Query: "event.outcome:failure AND user.name:root"}}},
		{name: "search_freetext_7d", search: &store.SearchRequest{Limit: 100, Filter: store.Filter{From: last7d.From, To: end, Query: "AccessDenied"}}},
		{name: "get_by_id", get: true},
		{name: "search_newest_30d", search: &store.SearchRequest{Limit: 100, Filter: all}},
	}
	// Every panel of the console's dashboards over the last 30 days, the
	// range ending 37 minutes before the end of the data as "now" would:
	// neither end falls on an hour.
	now := benchEnd.Add(-37 * time.Minute)
	for _, dash := range web.Dashboards() {
		for _, p := range dash.Panels {
			a := p.Agg
			a.From, a.To = now.Add(-30*24*time.Hour).UnixMilli(), now.UnixMilli()
			queries = append(queries, q{name: "panel_" + dash.ID + "_" + p.ID + "_30d", agg: &a})
		}
	}
	for _, qq := range queries {
		b.Run(qq.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if qq.agg != nil && strings.HasPrefix(qq.name, "panel_") {
					if _, err := db.Aggregate(ctx, *qq.agg); err != nil && len(times) == 0 {
						// A panel over a field the generated documents
						// lack: the time it takes to say so.
						b.Logf("%s: %v", qq.name, err)
					}
				} else if qq.get {
					if _, err := db.Get(ctx, "missing-id"); !errors.Is(err, store.ErrNotFound) {
						b.Fatal(err)
					}
				} else if qq.agg != nil {
					if _, err := db.Aggregate(ctx, *qq.agg); err != nil {
						b.Fatal(err)
					}
				} else if _, err := db.Search(ctx, *qq.search); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
			}
			b.ReportMetric(float64(times[0].Microseconds())/1000, "ms_first")
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms_median")
			b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "ms_max")
		})
	}
	// A panel right after a write into an hour its rollup holds, as while
	// the pipeline streams late documents: the write marks the hour, the
	// panel recounts the documents per hour and rebuilds that hour.
	b.Run("panel_vpcflow_talkers-src_30d_after_write", func(b *testing.B) {
		now := benchEnd.Add(-37 * time.Minute)
		a := store.AggRequest{Kind: store.AggTerms, Field: "source.ip", Metric: "network.bytes", Size: 10,
			Filter: store.Filter{LogTypes: []string{"vpcflowlogs"}, From: now.Add(-30 * 24 * time.Hour).UnixMilli(), To: now.UnixMilli()}}
		g := newDocGen(uint64(time.Now().UnixNano()), now.Add(-3*time.Hour), 3*time.Second)
		var times []time.Duration
		for b.Loop() {
			b.StopTimer()
			if err := db.Write(ctx, g.batch(1000)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			if _, err := db.Aggregate(ctx, a); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t0))
		}
		slices.Sort(times)
		b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms_median")
	})
	if _, err := db.w.conn().ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	var rows, views int64
	_ = db.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM vigil_rollup), (SELECT count(*) FROM vigil_rollup_views)`).Scan(&rows, &views)
	size, _ := db.dataBytes(ctx)
	fmt.Fprintf(os.Stderr, "store after the queries: %d MB; rollups: %d views, %d rows\n", size>>20, views, rows)
}
