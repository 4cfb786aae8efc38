//go:build conformance

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/testutil"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

// loadToOpenSearch runs vigil load of in into srv and returns the exit code,
// stderr and the dead-letter file.
func loadToOpenSearch(t *testing.T, srv *opensearchtest.Server, extra ...string) (int, string, string) {
	t.Helper()
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	// Short waits between retries: the server's faults are instant.
	args := append([]string{"load", "--quiet", "--sink", "opensearch:" + srv.URL(), "--dead-letter", dl,
		"--retry-backoff", "2ms", "--retry-max-backoff", "20ms"}, extra...)
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stderr.String(), dl
}

// TestLoadOpenSearchExactlyOnce is the OpenSearch acceptance run through
// the command: the compatibility corpus into a server answering 30% of
// items with 429 and resetting 10% of connections arrives exactly once;
// into a server refusing one field's mapping, exactly the documents with
// that field are dead-lettered with the error, and replaying the dead
// letters with --documents delivers them.
func TestLoadOpenSearchExactlyOnce(t *testing.T) {
	in := filepath.Join(testutil.SharedDir(t), "corpus/esloader-compat/input/aes-siem-123456789012-log")

	ref := opensearchtest.New(t, opensearchtest.Options{})
	if code, stderr, _ := loadToOpenSearch(t, ref, in); code != ExitOK {
		t.Fatalf("reference load: exit %d\n%s", code, stderr)
	}
	want := ref.CountByID()
	t.Logf("corpus: %d documents", len(want))

	faulty := opensearchtest.New(t, opensearchtest.Options{Seed: 11, Faults: opensearchtest.Faults{Item429Rate: 0.3, ResetRate: 0.1}})
	if code, stderr, _ := loadToOpenSearch(t, faulty, in); code != ExitOK {
		t.Fatalf("load through faults: exit %d\n%s", code, stderr)
	}
	got := faulty.CountByID()
	if len(got) != len(want) {
		t.Errorf("through faults: %d ids stored, want %d", len(got), len(want))
	}
	for id := range want {
		if got[id] != 1 {
			t.Errorf("through faults: %s stored %d times, want once", id, got[id])
		}
	}

	const field = "source.ip"
	expect := 0
	for _, ix := range ref.Indices() {
		for _, d := range ref.Docs(ix) {
			var doc struct {
				Source *struct {
					IP string `json:"ip"`
				} `json:"source"`
			}
			if json.Unmarshal(d.Source, &doc) == nil && doc.Source != nil && doc.Source.IP != "" {
				expect++
			}
		}
	}
	rej := opensearchtest.New(t, opensearchtest.Options{Seed: 12, Faults: opensearchtest.Faults{Item429Rate: 0.3, ResetRate: 0.1}})
	rej.MappingReject(field)
	code, stderr, dl := loadToOpenSearch(t, rej, in)
	if code != ExitFailure {
		t.Errorf("a refused mapping: exit %d, want %d (documents were dead-lettered)\n%s", code, ExitFailure, stderr)
	}
	data, err := os.ReadFile(dl)
	if err != nil {
		t.Fatalf("dead-letter file: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	t.Logf("%s refused: %d of %d documents dead-lettered, %d stored", field, len(lines), len(want), rej.Count())
	if len(lines) != expect || expect == 0 {
		t.Errorf("%d dead letters, want %d (the documents with %s)", len(lines), expect, field)
	}
	if !strings.Contains(lines[0], field) {
		t.Errorf("dead letter does not name the refused field %s: %.300s", field, lines[0])
	}
	if rej.Count()+len(lines) != len(want) {
		t.Errorf("stored %d + dead %d != %d documents", rej.Count(), len(lines), len(want))
	}

	// Once the mapping is fixed, the replay delivers every dead letter
	// with its index and _id.
	fixed := opensearchtest.New(t, opensearchtest.Options{})
	code, stderr, _ = loadToOpenSearch(t, fixed, "--documents", dl)
	if code != ExitOK {
		t.Fatalf("replay: exit %d\n%s", code, stderr)
	}
	first := rej.CountByID()
	for id, n := range fixed.CountByID() {
		if n != 1 || want[id] != 1 || first[id] != 0 {
			t.Errorf("replay: %s stored %d times (in the corpus %d, in the first load %d)", id, n, want[id], first[id])
		}
	}
	if fixed.Count() != len(lines) {
		t.Errorf("replay stored %d documents, want the %d dead letters", fixed.Count(), len(lines))
	}
}
