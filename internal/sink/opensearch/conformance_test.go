//go:build conformance

package opensearch_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/logtype/guardduty"
	"github.com/vigil-siem/vigil/internal/logtype/vpcflowlogs"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/sink/ndjson"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

// corpusInput returns the es-loader compatibility corpus's input bucket.
func corpusInput(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VIGIL_SHARED")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(wd, "../../../../shared")
	}
	in := filepath.Join(dir, "corpus/esloader-compat/input/aes-siem-123456789012-log")
	if _, err := os.Stat(in); err != nil {
		t.Fatalf("compatibility corpus not found (set VIGIL_SHARED): %v", err)
	}
	return in
}

func corpusProcessor(t *testing.T, dl pipeline.DeadLetter) func() pipeline.Processor {
	reg, err := logtype.Load()
	if err != nil {
		t.Fatal(err)
	}
	// The transforms of the corpus's three log types, as vigil load
	// registers them.
	scripts := map[string]normalize.Script{
		"cloudtrail": cloudtrail.Script{}, "vpcflowlogs": vpcflowlogs.Script{}, "guardduty": guardduty.Script{},
	}
	cfg := &pipeline.ObjectConfig{Registry: reg, Scripts: scripts, DeadLetter: dl}
	return func() pipeline.Processor { return pipeline.NewObjectProcessor(cfg) }
}

// TestCorpusThroughFaults loads the compatibility corpus into a server that
// answers 30% of items with 429 and resets 10% of connections: every
// document arrives exactly once. The same corpus into a server refusing one
// field's mapping dead-letters exactly the documents with that field.
func TestCorpusThroughFaults(t *testing.T) {
	in := corpusInput(t)

	// Reference: no faults.
	ref := opensearchtest.New(t, opensearchtest.Options{})
	dlRef := ndjson.NewDeadLetter(filepath.Join(t.TempDir(), "ref.ndjson"))
	refDelivered, refDead := run(t, ref, dlRef, corpusProcessor(t, dlRef), in)
	dlRef.Close()
	if refDead != 0 || refDelivered == 0 || int(refDelivered) != ref.Count() {
		t.Fatalf("reference load: delivered %d, dead %d, stored %d", refDelivered, refDead, ref.Count())
	}
	t.Logf("corpus: %d documents", refDelivered)

	srv := opensearchtest.New(t, opensearchtest.Options{Seed: 2024, Faults: opensearchtest.Faults{Item429Rate: 0.3, ResetRate: 0.1}})
	dl := ndjson.NewDeadLetter(filepath.Join(t.TempDir(), "dead.ndjson"))
	delivered, dead := run(t, srv, dl, corpusProcessor(t, dl), in)
	dl.Close()
	if delivered != refDelivered || dead != 0 {
		t.Errorf("with faults: delivered %d, dead %d; want %d and 0", delivered, dead, refDelivered)
	}
	want := ref.CountByID()
	got := srv.CountByID()
	for id, n := range want {
		if got[id] != n {
			t.Errorf("%s stored %d times, want %d", id, got[id], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d ids stored, want %d", len(got), len(want))
	}

	// One field refused: exactly the documents that have it.
	const field = "source.ip"
	expect := map[string]bool{}
	for _, ix := range ref.Indices() {
		for id, d := range ref.Docs(ix) {
			if hasField(d.Source, field) {
				expect[id] = true
			}
		}
	}
	if len(expect) == 0 || len(expect) == int(refDelivered) {
		t.Fatalf("%d of %d documents have %s: pick another field", len(expect), refDelivered, field)
	}
	rej := opensearchtest.New(t, opensearchtest.Options{Seed: 7, Faults: opensearchtest.Faults{Item429Rate: 0.3, ResetRate: 0.1}})
	rej.MappingReject(field)
	dl2 := ndjson.NewDeadLetter(filepath.Join(t.TempDir(), "dead2.ndjson"))
	delivered, dead = run(t, rej, dl2, corpusProcessor(t, dl2), in)
	dl2.Close()
	if int(dead) != len(expect) || delivered+dead != refDelivered || dl2.Count() != int64(len(expect)) {
		t.Errorf("field refused: delivered %d, dead %d (file %d); want %d dead of %d", delivered, dead, dl2.Count(), len(expect), refDelivered)
	}
	stored := rej.CountByID()
	for id := range want {
		if stored[id] != 0 == expect[id] {
			t.Errorf("%s: stored %d, has the field %v", id, stored[id], expect[id])
		}
	}
}
