//go:build conformance

package conformance

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/app"
)

// ignoredLeaf says which es-loader fields the comparison leaves out: the
// wall clock, and the parsed user agent that comes with enrichment.
func ignoredLeaf(path string) bool {
	switch {
	case path == "event.ingested":
		return true
	case path == "user_agent.name", path == "user_agent.version", strings.HasPrefix(path, "user_agent.os."), strings.HasPrefix(path, "user_agent.device."):
		return true
	}
	return false
}

type bulkDoc struct {
	index, id string
	source    map[string]any
}

// readBulk reads es-loader's bulk output: an action line, then the document.
func readBulk(t *testing.T, path string) []bulkDoc {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var docs []bulkDoc
	for sc.Scan() {
		var action struct {
			Index struct {
				Index string `json:"_index"`
				ID    string `json:"_id"`
			} `json:"index"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil {
			t.Fatalf("%s: action line: %v", path, err)
		}
		if !sc.Scan() {
			t.Fatalf("%s: action without document", path)
		}
		src := decode(t, sc.Bytes())
		docs = append(docs, bulkDoc{index: action.Index.Index, id: action.Index.ID, source: src})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

func decode(t testing.TB, b []byte) map[string]any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decoding %.200s: %v", b, err)
	}
	return m
}

// readOurs reads Vigil's NDJSON output keyed by _id.
func readOurs(t *testing.T, path string) map[string]bulkDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bulkDoc{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			t.Fatalf("invalid JSON line in output: %.300s", line)
		}
		m := decode(t, line)
		id, _ := m["_id"].(string)
		idx, _ := m["_index"].(string)
		src, _ := m["_source"].(map[string]any)
		if _, dup := out[id]; dup {
			t.Errorf("duplicate _id %s in output", id)
		}
		out[id] = bulkDoc{index: idx, id: id, source: src}
	}
	return out
}

// equalLoose compares values where a number equals its string form and
// Python's True/False equal JSON booleans.
func equalLoose(a, b any) bool {
	switch av := a.(type) {
	case []any:
		bv, ok := b.([]any)
		if !ok {
			if len(av) == 1 {
				return equalLoose(av[0], b)
			}
			return false
		}
		if len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !equalLoose(av[i], bv[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		return bytes.Equal(aj, bj)
	}
	if bl, ok := b.([]any); ok && len(bl) == 1 {
		return equalLoose(a, bl[0])
	}
	return scalarString(a) == scalarString(b)
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

type fieldDiff struct {
	missing, different int
	example            string
}

// TestEsloaderCompatibility loads the compatibility corpus and compares every
// document with es-loader's output for the same input (corpus made for this
// project; es-loader v2.10.4 output, see shared/README.md).
func TestEsloaderCompatibility(t *testing.T) {
	shared := sharedDir(t)
	corpus := filepath.Join(shared, "corpus", "esloader-compat")
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	var stderr bytes.Buffer
	code := app.Main(context.Background(), []string{"load", "--sink", "ndjson:" + out,
		"--dead-letter", filepath.Join(dir, "dl.ndjson"),
		filepath.Join(corpus, "input", "aes-siem-123456789012-log")}, nil, io.Discard, &stderr)
	t.Log(strings.TrimSpace(stderr.String()))
	if code != 0 {
		t.Fatalf("vigil load exited %d", code)
	}
	ours := readOurs(t, out)

	perType := map[string]int{}
	for _, d := range ours {
		lt, _ := d.source["@log_type"].(string)
		perType[lt]++
	}
	wantCounts := map[string]int{"cloudtrail": 1000, "vpcflowlogs": 10000, "guardduty": 1000}
	for lt, n := range wantCounts {
		if perType[lt] != n {
			t.Errorf("%s: %d documents, want %d (every input record)", lt, perType[lt], n)
		}
	}

	for _, lt := range []string{"cloudtrail", "vpcflowlogs", "guardduty"} {
		expected := readBulk(t, filepath.Join(corpus, lt+".esloader-bulk.ndjson.gz"))
		idMatch, indexMatch, leaves, equal := 0, 0, 0, 0
		diffs := map[string]*fieldDiff{}
		for _, e := range expected {
			o, ok := ours[e.id]
			if !ok {
				continue
			}
			idMatch++
			if o.index == e.index {
				indexMatch++
			}
			want, got := map[string]any{}, map[string]any{}
			flatten("", e.source, want)
			flatten("", o.source, got)
			for path, wv := range want {
				if ignoredLeaf(path) {
					continue
				}
				leaves++
				gv, ok := got[path]
				switch {
				case !ok:
					fd := diffs[path]
					if fd == nil {
						fd = &fieldDiff{}
						diffs[path] = fd
					}
					fd.missing++
				case !equalLoose(wv, gv):
					fd := diffs[path]
					if fd == nil {
						fd = &fieldDiff{}
						diffs[path] = fd
					}
					fd.different++
					if fd.example == "" {
						wj, _ := json.Marshal(wv)
						gj, _ := json.Marshal(gv)
						fd.example = fmt.Sprintf("es-loader %.120s, vigil %.120s", wj, gj)
					}
				default:
					equal++
				}
			}
		}
		pct := 100 * float64(equal) / float64(max(leaves, 1))
		fmt.Printf("esloader-compat %-12s documents %5d/%5d same _id, %5d same _index; leaf fields %d/%d equal (%.2f%%)\n",
			lt, idMatch, len(expected), indexMatch, equal, leaves, pct)
		paths := make([]string, 0, len(diffs))
		for p := range diffs {
			paths = append(paths, p)
		}
		sort.Slice(paths, func(i, j int) bool {
			a, b := diffs[paths[i]], diffs[paths[j]]
			return a.missing+a.different > b.missing+b.different
		})
		for _, p := range paths {
			d := diffs[p]
			fmt.Printf("    %-60s missing %5d, different %5d  %s\n", p, d.missing, d.different, d.example)
		}
		if idMatch != len(expected) {
			t.Errorf("%s: %d of %d es-loader documents have a Vigil document with the same _id", lt, idMatch, len(expected))
		}
		if indexMatch != len(expected) {
			t.Errorf("%s: %d of %d documents have the same _index", lt, indexMatch, len(expected))
		}
		if pct < 99 {
			t.Errorf("%s: leaf field agreement %.2f%% is below 99%%", lt, pct)
		}
	}
}
