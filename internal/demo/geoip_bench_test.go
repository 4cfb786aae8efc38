package demo_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/vigil-siem/vigil/internal/app"
	"github.com/vigil-siem/vigil/internal/demo"
	"github.com/vigil-siem/vigil/internal/enrich/geoip"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/source/file"
)

// countSink acknowledges documents and counts them, doing nothing else.
type countSink struct{ docs atomic.Int64 }

func (c *countSink) Write(_ context.Context, b *pipeline.Batch) error {
	for i := range b.Docs {
		b.Docs[i].Ack.Done(event.Delivered)
	}
	c.docs.Add(int64(len(b.Docs)))
	return nil
}

func (c *countSink) Close(context.Context) error { return nil }

// BenchmarkLoadGeoIP measures what GeoIP enrichment costs a load: the
// demo's CloudTrail objects (some 40,000 records from a few hundred
// addresses) through the whole pipeline on one worker, without and with
// the demo's databases. Run with -cpu 1 for the per-core figure.
func BenchmarkLoadGeoIP(b *testing.B) {
	s, err := demo.Generate(b.TempDir(), demo.Options{Seed: 1, Now: now})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := logtype.Load()
	if err != nil {
		b.Fatal(err)
	}
	ct, _ := reg.Get(demo.TypeCloudTrail)
	var paths []string
	for _, acct := range []string{"111122223333", "444455556666"} {
		paths = append(paths, filepath.Join(s.LogDir, "AWSLogs", acct, "CloudTrail"))
	}
	db, err := geoip.Open(s.GeoIPCity, s.GeoIPASN)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, bc := range []struct {
		name      string
		enrichers []normalize.Enricher
	}{
		{"without", nil},
		{"with-geoip", []normalize.Enricher{db.Enricher()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var docs int64
			for b.Loop() {
				sink := &countSink{}
				cfg := &pipeline.ObjectConfig{Registry: reg, ForceType: ct, Scripts: app.Scripts(), Enrichers: bc.enrichers}
				src := &file.Source{Paths: paths}
				err := pipeline.Run(context.Background(), pipeline.Config{Workers: 1}, src,
					func() pipeline.Processor { return pipeline.NewObjectProcessor(cfg) }, sink,
					func(o *pipeline.Object, err error) { b.Errorf("%s: %v", o.Origin.Key, err) })
				if err != nil {
					b.Fatal(err)
				}
				docs += sink.docs.Load()
			}
			b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
