//go:build conformance

package conformance

// The ECS oracle: Elastic's own AWS integration writes, for raw CloudTrail,
// VPC Flow Logs and GuardDuty records, the ECS documents it expects its
// ingest pipelines to produce. The inputs and expected documents under
// shared/corpus/ecs-elastic/ come from the elastic/integrations test
// pipelines (packages/aws/data_stream/*/_dev/test/pipeline; Elastic License
// 2.0, used here as test data only). TestECS runs Vigil on each input and
// reports how many of the expected ECS field values Vigil sets the same.
// The figure is informative: Vigil's compatibility target is es-loader, whose
// ECS choices differ from Elastic's in places (docs/ecs-oracle.md). The test
// fails only when Vigil cannot load an input or gives no document for a line
// Elastic makes a document of.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/app"
)

// ecsGroups are the ECS field groups scored.
var ecsGroups = []string{"@timestamp", "event", "source", "destination", "user", "cloud", "network"}

// ecsVolatile are fields Elastic's scorer drops from both sides.
var ecsVolatile = map[string]bool{"event.ingested": true, "event.created": true, "event.agent_id_status": true}

// ecsGeo matches the geo and AS enrichment, left out as compare_ecs.py
// --no-geo does (it depends on the GeoIP databases, not on the pipeline).
var ecsGeo = regexp.MustCompile(`(^|\.)(geo|as)(\.|$)`)

// ecsGroup returns the scored group of a flattened field, or "".
func ecsGroup(path string) string {
	if ecsVolatile[path] || ecsGeo.MatchString(path) {
		return ""
	}
	for _, g := range ecsGroups {
		if path == g || strings.HasPrefix(path, g+".") {
			return g
		}
	}
	return ""
}

// ecsSuite is one log type of the oracle.
type ecsSuite struct {
	dir, vigilType string
	// s3Form gives, for inputs Vigil refuses as written, the form the same
	// records have in an S3 object: a header line for headerless custom
	// flow log formats, or the raw line unwrapped from a JSON "message"
	// envelope. Those runs are scored separately, for information.
	s3Form map[string]ecsS3Form
}

type ecsS3Form struct {
	header        string
	unwrapMessage bool
}

var ecsSuites = []ecsSuite{
	{dir: "cloudtrail", vigilType: "cloudtrail"},
	{dir: "vpcflow", vigilType: "vpcflowlogs", s3Form: map[string]ecsS3Form{
		"test-tcp-flag-sequence.log":  {header: "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"},
		"test-v5-all-fields.log":      {header: "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"},
		"test-with-message-field.log": {unwrapMessage: true},
	}},
	{dir: "guardduty", vigilType: "guardduty"},
}

// ecsRecord is one non-blank input line and what Elastic expects of it.
type ecsRecord struct {
	file     string
	line     int // 1-based physical line
	text     string
	key      string         // canonical form, to find Vigil's document by @message
	expected map[string]any // nil: Elastic drops the line
}

// ecsScore accumulates the agreement of one log type.
type ecsScore struct {
	files, filesLoaded       int
	wantDocs, pairedDocs     int
	byOrder                  int
	total, equal             int
	groupTotal, groupEqual   map[string]int
	misses                   map[string]*ecsMiss
	extraDocs, deadLetterNil int
}

type ecsMiss struct {
	missing, different int
	example            string
}

func newECSScore() *ecsScore {
	return &ecsScore{groupTotal: map[string]int{}, groupEqual: map[string]int{}, misses: map[string]*ecsMiss{}}
}

func TestECS(t *testing.T) {
	shared := sharedDir(t)
	base := filepath.Join(shared, "corpus", "ecs-elastic")
	fmt.Printf("ECS agreement with Elastic's AWS integration (elastic/integrations test pipelines), fields %s, geo excluded\n",
		strings.Join(ecsGroups, " "))
	for _, s := range ecsSuites {
		inputs, err := filepath.Glob(filepath.Join(base, s.dir, "*-expected.json"))
		if err != nil || len(inputs) == 0 {
			t.Fatalf("%s: no expected files in %s", s.dir, filepath.Join(base, s.dir))
		}
		sort.Strings(inputs)
		score, s3score := newECSScore(), newECSScore()
		for _, exp := range inputs {
			input := strings.TrimSuffix(exp, "-expected.json")
			recs := readECSRecords(t, input, exp)
			score.files++
			// Files not in the form AWS writes to S3 (flow logs in a custom
			// format without their header line, or wrapped in another JSON
			// document) are dead-lettered line by line, not lost; they are
			// scored again below in their S3 form.
			f, has := s.s3Form[filepath.Base(input)]
			ok := runECSFile(t, s.vigilType, input, recs, "", false, score, !has)
			if has && !ok {
				s3score.files++
				runECSFile(t, s.vigilType, input, recs, f.header, f.unwrapMessage, s3score, false)
			} else if ok {
				s3score.files++
				runECSFile(t, s.vigilType, input, recs, "", false, s3score, false)
			}
		}
		score.print(s.vigilType, "files as written")
		if s3score.files > 0 && s3score.filesLoaded > score.filesLoaded {
			s3score.print(s.vigilType, "refused files in their S3 form")
		}
	}
}

// readECSRecords pairs the non-blank lines of input with the expected
// documents, as elastic-package does.
func readECSRecords(t *testing.T, input, expectedPath string) []ecsRecord {
	t.Helper()
	data, err := os.ReadFile(expectedPath)
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Expected []json.RawMessage `json:"expected"`
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatalf("%s: %v", expectedPath, err)
	}
	raw, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	var recs []ecsRecord
	for i, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		recs = append(recs, ecsRecord{file: filepath.Base(input), line: i + 1, text: l, key: messageKey(l)})
	}
	if len(recs) != len(exp.Expected) {
		t.Fatalf("%s: %d input lines, %d expected documents", input, len(recs), len(exp.Expected))
	}
	for i, e := range exp.Expected {
		if string(bytes.TrimSpace(e)) == "null" {
			continue
		}
		recs[i].expected = decode(t, e)
	}
	return recs
}

// messageKey is the canonical form of a record for pairing: re-encoded JSON
// (Vigil's @message is Python's json.dumps of the record), else the line.
func messageKey(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		if d.Decode(&v) == nil {
			if b, err := json.Marshal(v); err == nil {
				return string(b)
			}
		}
	}
	return s
}

// runECSFile loads one input with Vigil and scores its documents; it
// reports whether Vigil loaded the file and gave every expected document.
// Failures are test errors only for the file as written (strict).
func runECSFile(t *testing.T, vigilType, input string, recs []ecsRecord, header string, unwrap bool, score *ecsScore, strict bool) bool {
	t.Helper()
	dir := t.TempDir()
	path := input
	offset := 0 // physical lines added before the records
	if header != "" || unwrap {
		var b strings.Builder
		if header != "" {
			b.WriteString(header + "\n")
			offset = 1
		}
		for _, r := range recs {
			line := r.text
			if unwrap {
				var env struct {
					Message string `json:"message"`
				}
				if json.Unmarshal([]byte(line), &env) == nil && env.Message != "" {
					line = env.Message
				}
			}
			b.WriteString(line + "\n")
		}
		path = filepath.Join(dir, filepath.Base(input))
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, dl := filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "dead-letter.ndjson")
	args := []string{"load", "--type", vigilType, "--workers", "1", "--sink", "ndjson:" + out, "--dead-letter", dl, path}
	var stderr bytes.Buffer
	code := app.Main(context.Background(), args, nil, io.Discard, &stderr)
	repro := fmt.Sprintf("vigil load --type %s --workers 1 --sink ndjson:out.ndjson --dead-letter dl.ndjson %s", vigilType, input)
	failf := func(format string, a ...any) {
		if strict {
			t.Errorf("%s: %s\n  reproduce: %s\n  stderr: %s", filepath.Base(input), fmt.Sprintf(format, a...), repro, strings.TrimSpace(stderr.String()))
		}
	}

	// Lines Vigil set aside: fine where Elastic drops the line too.
	byLine := map[int]int{}
	for i, r := range recs {
		byLine[r.line] = i
	}
	deadLettered := map[int]string{}
	if f, err := os.Open(dl); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var e struct {
				Line   int    `json:"line"`
				Reason string `json:"reason"`
			}
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			// The S3 form writes the records one per line after the header.
			ln := e.Line
			if path != input {
				if i := ln - offset - 1; i >= 0 && i < len(recs) {
					deadLettered[i] = e.Reason
				}
				continue
			}
			if i, ok := byLine[ln]; ok {
				deadLettered[i] = e.Reason
			}
		}
		f.Close()
	}
	ok := true
	dead := make([]int, 0, len(deadLettered))
	for i := range deadLettered {
		dead = append(dead, i)
	}
	sort.Ints(dead)
	for _, i := range dead {
		reason := deadLettered[i]
		if recs[i].expected == nil {
			score.deadLetterNil++
			continue
		}
		ok = false
		failf("line %d: Vigil failed the record (%s), Elastic makes a document of it", recs[i].line, reason)
	}
	if code != 0 && len(deadLettered) == 0 {
		ok = false
		failf("vigil load exited %d", code)
	}

	// Pair documents with lines by @message, then by order.
	docs := readECSDocs(t, out)
	byKey := map[string][]int{}
	for i, r := range recs {
		k := r.key
		if unwrap {
			k = messageKey(unwrappedMessage(r.text))
		}
		byKey[k] = append(byKey[k], i)
	}
	paired := make([]map[string]any, len(recs))
	var unpaired []map[string]any
	for _, d := range docs {
		msg, _ := d["@message"].(string)
		k := messageKey(msg)
		if q := byKey[k]; len(q) > 0 {
			paired[q[0]] = d
			byKey[k] = q[1:]
			continue
		}
		unpaired = append(unpaired, d)
	}
	for i := range recs {
		if len(unpaired) == 0 {
			break
		}
		if paired[i] == nil && deadLettered[i] == "" {
			paired[i] = unpaired[0]
			unpaired = unpaired[1:]
			score.byOrder++
		}
	}
	score.extraDocs += len(unpaired)

	for i, r := range recs {
		if r.expected == nil {
			if paired[i] != nil {
				score.extraDocs++
			}
			continue
		}
		score.wantDocs++
		if paired[i] == nil {
			if _, dead := deadLettered[i]; !dead {
				ok = false
				failf("line %d: no Vigil document, Elastic makes one", r.line)
			}
			continue
		}
		score.pairedDocs++
		src, _ := paired[i]["_source"].(map[string]any)
		score.compare(fmt.Sprintf("%s:%d", r.file, r.line), r.expected, src)
	}
	if ok {
		score.filesLoaded++
	}
	return ok
}

func unwrappedMessage(s string) string {
	var env struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(s), &env) == nil && env.Message != "" {
		return env.Message
	}
	return s
}

// readECSDocs reads Vigil's NDJSON output in order, with @message lifted
// from _source for pairing.
func readECSDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	var docs []map[string]any
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		d := decode(t, line)
		if src, ok := d["_source"].(map[string]any); ok {
			d["@message"] = src["@message"]
		}
		docs = append(docs, d)
	}
	return docs
}

// compare scores the expected ECS fields of one document.
func (s *ecsScore) compare(where string, expected, got map[string]any) {
	want, have := map[string]any{}, map[string]any{}
	flatten("", expected, want)
	flatten("", got, have)
	for path, wv := range want {
		g := ecsGroup(path)
		if g == "" {
			continue
		}
		s.total++
		s.groupTotal[g]++
		hv, ok := have[path]
		if ok && ecsEqual(wv, hv) {
			s.equal++
			s.groupEqual[g]++
			continue
		}
		m := s.misses[path]
		if m == nil {
			m = &ecsMiss{}
			s.misses[path] = m
		}
		wj, _ := json.Marshal(wv)
		if !ok {
			m.missing++
			if m.example == "" {
				m.example = fmt.Sprintf("%s: elastic %.80s, vigil (none)", where, wj)
			}
			continue
		}
		m.different++
		if m.example == "" || strings.HasSuffix(m.example, "(none)") {
			hj, _ := json.Marshal(hv)
			m.example = fmt.Sprintf("%s: elastic %.80s, vigil %.80s", where, wj, hj)
		}
	}
}

func (s *ecsScore) print(vigilType, what string) {
	pct := 100 * float64(s.equal) / float64(max(s.total, 1))
	fmt.Printf("ecs-elastic %-11s (%s) files %d/%d loaded, documents %d/%d; fields %d/%d equal (%.1f%%)\n",
		vigilType, what, s.filesLoaded, s.files, s.pairedDocs, s.wantDocs, s.equal, s.total, pct)
	var groups []string
	for _, g := range ecsGroups {
		if n := s.groupTotal[g]; n > 0 {
			groups = append(groups, fmt.Sprintf("%s %d/%d", g, s.groupEqual[g], n))
		}
	}
	fmt.Printf("    by group: %s\n", strings.Join(groups, ", "))
	if s.byOrder > 0 || s.extraDocs > 0 || s.deadLetterNil > 0 {
		fmt.Printf("    %d documents paired by order (no @message match), %d documents for lines Elastic drops or unpaired, %d dropped lines Vigil dead-lettered\n",
			s.byOrder, s.extraDocs, s.deadLetterNil)
	}
	paths := make([]string, 0, len(s.misses))
	for p := range s.misses {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool {
		a, b := s.misses[paths[i]], s.misses[paths[j]]
		if na, nb := a.missing+a.different, b.missing+b.different; na != nb {
			return na > nb
		}
		return paths[i] < paths[j]
	})
	if len(paths) > 0 {
		fmt.Printf("    %-40s %7s %9s  %s\n", "field", "missing", "different", "example")
	}
	for _, p := range paths {
		m := s.misses[p]
		fmt.Printf("    %-40s %7d %9d  %s\n", p, m.missing, m.different, m.example)
	}
}

// ecsEqual compares an expected value with Vigil's: a one-element list
// equals its element, a number equals its string form, timestamps compare
// as instants, lists element by element (lists of scalars in any order).
func ecsEqual(a, b any) bool {
	if l, ok := a.([]any); ok && len(l) == 1 {
		a = l[0]
	}
	if l, ok := b.([]any); ok && len(l) == 1 {
		b = l[0]
	}
	switch av := a.(type) {
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		if as, ok := scalarStrings(av); ok {
			if bs, ok := scalarStrings(bv); ok {
				sort.Strings(as)
				sort.Strings(bs)
				for i := range as {
					if !scalarEqual(as[i], bs[i]) {
						return false
					}
				}
				return true
			}
		}
		for i := range av {
			if !ecsEqual(av[i], bv[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, e := range av {
			if f, ok := bv[k]; !ok || !ecsEqual(e, f) {
				return false
			}
		}
		return true
	}
	if _, ok := b.([]any); ok {
		return false
	}
	if _, ok := b.(map[string]any); ok {
		return false
	}
	return scalarEqual(scalarString(a), scalarString(b))
}

func scalarStrings(l []any) ([]string, bool) {
	out := make([]string, len(l))
	for i, e := range l {
		switch e.(type) {
		case []any, map[string]any:
			return nil, false
		}
		out[i] = scalarString(e)
	}
	return out, true
}

func scalarEqual(a, b string) bool {
	if a == b {
		return true
	}
	if fa, err := strconv.ParseFloat(a, 64); err == nil {
		fb, err := strconv.ParseFloat(b, 64)
		return err == nil && fa == fb
	}
	ta, okA := parseInstant(a)
	tb, okB := parseInstant(b)
	return okA && okB && ta.Equal(tb)
}

// parseInstant reads Elastic's 2006-01-02T15:04:05.000Z and Python's
// isoformat with an offset.
func parseInstant(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[10] != 'T' {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
