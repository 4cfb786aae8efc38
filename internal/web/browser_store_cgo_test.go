//go:build cgo

package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/app"
	"github.com/vigil-siem/vigil/internal/codec"
	"github.com/vigil-siem/vigil/internal/demo"
	"github.com/vigil-siem/vigil/internal/detect/stage"
	"github.com/vigil-siem/vigil/internal/enrich/geoip"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/source/file"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/store/duckdb"
	"github.com/vigil-siem/vigil/internal/web"
)

// browserStore serves the browser test from a DuckDB store loaded with the
// demo data of the week before now, through the real load pipeline with
// GeoIP enrichment from the demo's own databases and detection with
// Vigil's rule pack (so the store holds alerts), plus one planted
// CloudTrail event whose user name and event name are the XSS strings.
// The server can change an alert's status.
func browserStore(t *testing.T) *browserData {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	sum, err := demo.Generate(filepath.Join(t.TempDir(), "demo"), demo.Options{Seed: 20240314, Now: time.Now(), Scale: 0.25})
	if err != nil {
		t.Fatalf("generating the demo data: %v", err)
	}
	st, err := duckdb.Open(ctx, t.TempDir(), duckdb.Options{Threads: 2, MemoryLimit: "1GB"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	geo, err := geoip.Open(sum.GeoIPCity, sum.GeoIPASN)
	if err != nil {
		t.Fatalf("opening the demo's GeoIP databases: %v", err)
	}
	defer geo.Close()
	n, alerts := loadDir(t, sum.LogDir, st, geo.Enricher())
	t.Logf("demo data: %d records generated, %d documents (%d alerts) loaded in %s", sum.Total(), n, alerts, time.Since(start).Round(time.Millisecond))
	if alerts == 0 {
		t.Fatal("the rule pack raised no alert over the demo data")
	}

	planted := map[string]any{
		"@timestamp": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"@log_type":  "cloudtrail",
		"@message":   `{"eventName":"` + browserXSSImg + `"}`,
		"eventName":  browserXSSImg,
		"event":      map[string]any{"action": browserXSSImg, "module": "iam.amazonaws.com", "outcome": "success"},
		"user":       map[string]any{"name": browserXSSScript},
		"cloud":      map[string]any{"region": "us-east-1", "account": map[string]any{"id": "111122223333"}},
		"source":     map[string]any{"ip": "203.0.113.7"},
	}
	src, err := json.Marshal(planted)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().Add(-time.Hour)
	if err := st.Write(ctx, []store.Doc{{ID: "xss-planted-1", Index: "log-aws-cloudtrail-" + ts.UTC().Format("2006-01"),
		LogType: "cloudtrail", TimestampMs: ts.UnixMilli(), Source: src}, xssAlert(ts, "xss-planted-1")}); err != nil {
		t.Fatalf("writing the planted document: %v", err)
	}

	srv, err := web.New(st, web.Options{Version: "browser-test", Alerts: web.StoreAlerts{Store: st}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &browserData{srv: srv, since: "7d", xssQuery: `user.name:"` + browserXSSScript + `"`,
		bruteForce: "SSH brute force followed by a successful login from the same source"}
}

// collectSink keeps the pipeline's documents; the store then takes them
// in one Write, which is much faster than one small Write per batch.
type collectSink struct {
	mu   sync.Mutex
	docs []store.Doc
}

func (s *collectSink) Write(_ context.Context, b *pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, d := range b.Docs {
		// Source may point into the batch's buffer, which the pipeline
		// reuses once Write returns: keep a copy.
		s.docs = append(s.docs, store.Doc{ID: d.ID, Index: d.Index, LogType: d.LogType, TimestampMs: d.TimestampMs,
			Source: append([]byte(nil), d.Source...)})
		b.Docs[i].Ack.Done(event.Delivered)
	}
	return nil
}

func (s *collectSink) Close(context.Context) error { return nil }

// loadDir runs the files under dir through the load pipeline (log type
// detection, decoding, parsing, normalization, the log types' transforms,
// the enrichers, Sigma detection with the repository's rule pack) into st
// and returns the number of documents written, and how many of them are
// alerts. Any failure fails the test.
func loadDir(t *testing.T, dir string, st store.Store, enrichers ...normalize.Enricher) (docs, alerts int) {
	t.Helper()
	reg, err := logtype.Load()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var failures []string
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, s)
	}
	cfg := &pipeline.ObjectConfig{
		Registry: reg, Scripts: app.Scripts(), Codec: codec.Config{}, Enrichers: enrichers,
		OnRecordError: func(f pipeline.Failure) { fail(fmt.Sprintf("%s:%d: %s", f.Origin.Key, f.Line, f.Reason)) },
	}
	det, err := stage.New(stage.Config{RuleDirs: []string{filepath.Join("..", "..", "rules")}, DecideAtEnd: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("loading the rule pack: %v", err)
	}
	if p := det.Problems(); len(p) > 0 {
		t.Fatalf("the rule pack has %d invalid rules, first: %v", len(p), p[0])
	}
	cfg.Inspect = det.Inspect
	src := &file.Source{Paths: []string{dir}, NewAck: func(event.Origin) *event.Ack { return event.NewAck(nil) },
		OnError: func(path string, err error) { fail(path + ": " + err.Error()) }}
	sink := &collectSink{}
	err = pipeline.Run(context.Background(), pipeline.Config{Workers: 2}, src,
		func() pipeline.Processor { return pipeline.NewObjectProcessor(cfg) }, det.Sink(sink),
		func(o *pipeline.Object, err error) {
			var oe *pipeline.ObjectError
			if errors.As(err, &oe) && oe.Err == nil {
				return // its records were reported one by one
			}
			fail(o.Origin.Key + ": " + err.Error())
		})
	if cerr := det.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	if len(failures) > 0 {
		t.Fatalf("loading the demo data: %d failures, first: %s", len(failures), failures[0])
	}
	t0 := time.Now()
	if err := st.Write(context.Background(), sink.docs); err != nil {
		t.Fatalf("writing %d documents: %v", len(sink.docs), err)
	}
	t.Logf("the store took %d documents in %s", len(sink.docs), time.Since(t0).Round(time.Millisecond))
	// An alert updated during the run is in the list once per write; the
	// store keeps the last.
	ids := map[string]bool{}
	for _, d := range sink.docs {
		if !ids[d.ID] && d.LogType == web.DefaultAlertLogType {
			alerts++
		}
		ids[d.ID] = true
	}
	return len(ids), alerts
}
