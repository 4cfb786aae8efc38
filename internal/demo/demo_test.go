package demo_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/demo"
	"github.com/vigil-siem/vigil/internal/logtype"
)

// Generate runs its generators in goroutines; none may outlive it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// now is the fixed end of the generated range in tests.
var now = time.Date(2024, 3, 14, 15, 9, 26, 0, time.UTC)

// readTree returns every file under dir by its slash path relative to dir.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func generate(t testing.TB, opts demo.Options) (string, demo.Summary) {
	t.Helper()
	dir := t.TempDir()
	s, err := demo.Generate(dir, opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir, s
}

func TestGenerateIsDeterministic(t *testing.T) {
	opts := demo.Options{Seed: 42, Now: now, Scale: 0.1}
	dirA, sumA := generate(t, opts)
	dirB, sumB := generate(t, opts)
	a, b := readTree(t, dirA), readTree(t, dirB)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("runs wrote %d and %d files", len(a), len(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Fatalf("%s differs between two runs with the same seed", k)
		}
	}
	if sumA.Attack.AttackerIP != sumB.Attack.AttackerIP || sumA.Total() != sumB.Total() {
		t.Errorf("summaries differ: %+v vs %+v", sumA.Attack, sumB.Attack)
	}

	dirC, sumC := generate(t, demo.Options{Seed: 43, Now: now, Scale: 0.1})
	c := readTree(t, dirC)
	same := 0
	for k, v := range c {
		if strings.HasPrefix(k, "geoip/") {
			continue // the networks are the same for every seed
		}
		if bytes.Equal(v, a[k]) {
			same++
		}
	}
	if same > 0 || sumC.Attack.AttackerIP == sumA.Attack.AttackerIP && sumC.Attack.InstanceID == sumA.Attack.InstanceID {
		t.Errorf("another seed gave %d identical files and attack %+v", same, sumC.Attack)
	}
}

func TestGenerateLayout(t *testing.T) {
	dir, s := generate(t, demo.Options{Seed: 7, Now: now, Scale: 0.2})
	if want := filepath.Join(dir, "aes-siem-111122223333-log"); s.Dir != dir || s.LogDir != want {
		t.Errorf("Dir %s, LogDir %s; want %s and %s", s.Dir, s.LogDir, dir, want)
	}
	all := readTree(t, dir)
	for key := range all {
		if !strings.HasPrefix(key, "aes-siem-111122223333-log/AWSLogs/") && key != "geoip/demo-City.mmdb" && key != "geoip/demo-ASN.mmdb" {
			t.Errorf("unexpected file %s", key)
		}
	}
	for _, p := range []string{s.GeoIPCity, s.GeoIPASN} {
		if rel, err := filepath.Rel(dir, p); err != nil || all[filepath.ToSlash(rel)] == nil {
			t.Errorf("GeoIP database %s is not among the files written", p)
		}
	}
	files := readTree(t, s.LogDir)
	if len(files) != s.Files {
		t.Errorf("summary says %d files, found %d", s.Files, len(files))
	}
	reg, err := logtype.Load()
	if err != nil {
		t.Fatal(err)
	}
	perType := map[string]int{}
	for key, b := range files {
		typ, res := reg.Detect(key)
		if res != logtype.Matched {
			t.Errorf("%s: detection %v", key, res)
			continue
		}
		perType[typ.Name]++
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is not gzip", key)
		}
	}
	for _, typ := range demo.Types {
		if perType[typ] == 0 || perType[typ] != s.FilesByType[typ] {
			t.Errorf("%s: %d files detected, summary says %d", typ, perType[typ], s.FilesByType[typ])
		}
		if s.Records[typ] == 0 {
			t.Errorf("%s: no records", typ)
		}
	}
	if !s.Start.Equal(now.Add(-7*24*time.Hour)) || !s.End.Equal(now) {
		t.Errorf("range %v - %v", s.Start, s.End)
	}
	// The default scale gives 50k-110k records; a fifth of the ordinary
	// activity, plus the attack, which does not scale, about 20k.
	if total := s.Total(); total < 10000 || total > 30000 {
		t.Errorf("scale 0.2 gave %d records, want 10k-30k", total)
	}
	t.Logf("records: %v (total %d), files %d, %d bytes", s.Records, s.Total(), s.Files, s.Bytes)
	t.Logf("attack: %+v", s.Attack)
	for _, q := range s.Attack.Searches() {
		if !strings.Contains(q, ":") {
			t.Errorf("search %q has no field", q)
		}
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    demo.Options
		wantErr string
	}{
		{name: "one day is too short", opts: demo.Options{Days: 1}, wantErr: "Days"},
		{name: "negative scale", opts: demo.Options{Scale: -1}, wantErr: "Scale"},
		{name: "bad account", opts: demo.Options{Accounts: []string{"12345"}}, wantErr: "12345"},
		{name: "bad region", opts: demo.Options{Regions: []string{"US East"}}, wantErr: "US East"},
		{name: "custom accounts and regions", opts: demo.Options{Accounts: []string{"123456789012"}, Regions: []string{"eu-central-1"}, Days: 2, Scale: 0.05}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Now = now
			s, err := demo.Generate(t.TempDir(), tc.opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Generate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Generate error = %v, want one naming %q", err, tc.wantErr)
			case err == nil && s.Attack.AttackerIP == "":
				t.Error("no attack in the summary")
			}
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		s, err := demo.Generate(dir, demo.Options{Seed: 1, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(s.Total()), "records/op")
	}
}
