package setup

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseIndexDate(t *testing.T) {
	tests := []struct {
		name       string
		prefix     string
		rot        logtype.Rotation
		start, end string
	}{
		{name: "log-aws-cloudtrail-2024-01", prefix: "log-aws-cloudtrail", rot: logtype.RotationMonthly, start: "2024-01-01", end: "2024-02-01"},
		{name: "log-aws-cloudtrail-2024-12", prefix: "log-aws-cloudtrail", rot: logtype.RotationMonthly, start: "2024-12-01", end: "2025-01-01"},
		{name: "log-aws-vpcflowlogs-2024-02-29", prefix: "log-aws-vpcflowlogs", rot: logtype.RotationDaily, start: "2024-02-29", end: "2024-03-01"},
		{name: "log-web-nginx-2023", prefix: "log-web-nginx", rot: logtype.RotationYearly, start: "2023-01-01", end: "2024-01-01"},
		// 2024-01-01 is a Monday: week 00 is empty, week 01 starts on it.
		{name: "log-linux-os-2024-w01", prefix: "log-linux-os", rot: logtype.RotationWeekly, start: "2024-01-01", end: "2024-01-08"},
		// 2023-01-01 is a Sunday: week 00 is that one day.
		{name: "log-linux-os-2023-w00", prefix: "log-linux-os", rot: logtype.RotationWeekly, start: "2023-01-01", end: "2023-01-02"},
		{name: "log-linux-os-2023-w52", prefix: "log-linux-os", rot: logtype.RotationWeekly, start: "2023-12-25", end: "2024-01-01"},
		{name: "log-app-suffix-2024-03-05", prefix: "log-app-suffix", rot: logtype.RotationDaily, start: "2024-03-05", end: "2024-03-06"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := ParseIndexDate(tc.name)
			if !ok {
				t.Fatalf("ParseIndexDate(%q) found no date", tc.name)
			}
			want := DatedIndex{Name: tc.name, Prefix: tc.prefix, Rotation: tc.rot, Start: day(tc.start), End: day(tc.end)}
			if d != want {
				t.Errorf("ParseIndexDate(%q) = %+v, want %+v", tc.name, d, want)
			}
		})
	}
	for _, name := range []string{
		"log-aws-cloudtrail", "log-aws-cloudtrail-000001", "log-aws-cloudtrail-000012", "log-app-0001",
		"log-aws-cloudtrail-2024-13", "log-aws-cloudtrail-2024-00", "log-x-2024-02-30", "log-x-2023-w53",
		"log-x-2024-w54", "2024-01", "-2024", "log-x-1969", "log-x-2024-1", "log-x-2024-w1", "log-x-20240101",
		"log-x-2024-01-01-extra", "log-x-+024", "log-x-２０２４",
	} {
		if d, ok := ParseIndexDate(name); ok {
			t.Errorf("ParseIndexDate(%q) = %+v, want no date", name, d)
		}
	}
}

// mondayWeek is strftime's %W, as the normalizer names weekly indices.
func mondayWeek(t time.Time) int {
	yday := t.YearDay() - 1
	wday := (int(t.Weekday()) + 6) % 7
	return (yday + 7 - wday) / 7
}

// TestParseIndexDateWeeksCoverEveryDay checks, for every day of 2000–2039,
// that the weekly index the normalizer writes the day to covers that day.
func TestParseIndexDateWeeksCoverEveryDay(t *testing.T) {
	for d := day("2000-01-01"); d.Year() < 2040; d = d.AddDate(0, 0, 1) {
		name := fmt.Sprintf("log-x-%04d-w%02d", d.Year(), mondayWeek(d))
		got, ok := ParseIndexDate(name)
		if !ok || d.Before(got.Start) || !d.Before(got.End) {
			t.Fatalf("%s: %s covers %v–%v (ok %v)", d.Format("2006-01-02"), name, got.Start, got.End, ok)
		}
	}
}

func FuzzParseIndexDate(f *testing.F) {
	for _, s := range []string{"log-a-2024-01", "log-a-2024-01-31", "log-a-2024-w07", "log-a-2024", "log-a-000001", "x-2023-w00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		d, ok := ParseIndexDate(name)
		if !ok {
			return
		}
		if d.Prefix == "" || !strings.HasPrefix(name, d.Prefix+"-") || d.Name != name {
			t.Fatalf("%q: prefix %q", name, d.Prefix)
		}
		if !d.Start.Before(d.End) || d.End.Sub(d.Start) > 366*24*time.Hour {
			t.Fatalf("%q: period %v–%v", name, d.Start, d.End)
		}
	})
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"90", 90 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"", 0, false},
		{"0d", 0, false},
		{"-3d", 0, false},
		{"d", 0, false},
		{"ninety days", 0, false},
		{"-1h", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"90d", "12w", "36h", "7", "1h30m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseAge(s); err == nil && d <= 0 {
			t.Fatalf("ParseAge(%q) = %v without error", s, d)
		}
	})
}

func TestRetentionDeletesOnlyOldDatedIndices(t *testing.T) {
	all := []string{
		"log-aws-cloudtrail-2023-01",     // monthly, ended 2023-02-01: old
		"log-aws-cloudtrail-2024-03",     // ended 2024-04-01: 91 days before now: old
		"log-aws-cloudtrail-2024-04",     // ended 2024-05-01: kept
		"log-aws-vpcflowlogs-2024-03-31", // daily, ended 2024-04-01: old
		"log-aws-vpcflowlogs-2024-04-02", // kept
		"log-linux-os-2023-w05",          // weekly: old
		"log-web-nginx-2023",             // yearly, ended 2024-01-01: old
		"log-web-nginx-2024",             // kept
		"log-aws-waf-000001",             // rollover index: never touched
		"log-aws-custom",                 // no suffix: never touched
		"other-2020-01",                  // not a Vigil index
		".opendistro-ism-config",         // hidden
	}
	now := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		dryRun  bool
		deleted []string
	}{
		{name: "dry run", dryRun: true},
		{name: "delete", deleted: []string{"log-aws-cloudtrail-2023-01", "log-aws-cloudtrail-2024-03", "log-aws-vpcflowlogs-2024-03-31", "log-linux-os-2023-w05", "log-web-nginx-2023"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := opensearchtest.New(t, opensearchtest.Options{})
			for _, n := range all {
				s.CreateIndex(n)
			}
			var out bytes.Buffer
			err := Retention(context.Background(), newClient(t, s.URL()), 90*24*time.Hour, now, tc.dryRun, &out)
			if err != nil {
				t.Fatalf("Retention: %v\n%s", err, out.String())
			}
			var gone []string
			for _, n := range all {
				if !slices.Contains(s.Indices(), n) {
					gone = append(gone, n)
				}
			}
			if !slices.Equal(gone, tc.deleted) {
				t.Errorf("deleted %v, want %v\n%s", gone, tc.deleted, out.String())
			}
			for _, r := range s.WriteRequests() {
				if r.Method != "DELETE" || strings.ContainsAny(r.Path, "*,") {
					t.Errorf("unexpected write %s %s", r.Method, r.Path)
				}
			}
			word := "deleted"
			if tc.dryRun {
				word = "would be deleted"
			}
			if !strings.Contains(out.String(), "index log-aws-cloudtrail-2023-01: "+word+" (monthly, ended 2023-02-01)\n") {
				t.Errorf("output:\n%s", out.String())
			}
			if !strings.Contains(lastLine(out.String()), "5 indices") || !strings.Contains(lastLine(out.String()), "3 kept, 2 without a date suffix") {
				t.Errorf("summary: %s", lastLine(out.String()))
			}
		})
	}
}

func TestRetentionWithPrefixes(t *testing.T) {
	s := opensearchtest.New(t, opensearchtest.Options{})
	for _, n := range []string{"log-aws-cloudtrail-2020-01", "log-aws-cloudtrail-org-2020-01", "log-aws-waf-2020-01", "app-2020-01"} {
		s.CreateIndex(n)
	}
	sum, err := RetentionWith(context.Background(), newClient(t, s.URL()), RetentionOptions{
		OlderThan: 24 * time.Hour, Now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Prefixes: []string{"log-aws-cloudtrail", "app"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app-2020-01", "log-aws-cloudtrail-2020-01", "log-aws-cloudtrail-org-2020-01"}
	if !slices.Equal(sum.Deleted, want) {
		t.Errorf("deleted %v, want %v", sum.Deleted, want)
	}
	if !slices.Contains(s.Indices(), "log-aws-waf-2020-01") {
		t.Error("an index out of scope was deleted")
	}
}

func TestRetentionRejectsBadArguments(t *testing.T) {
	s := opensearchtest.New(t, opensearchtest.Options{})
	c := newClient(t, s.URL())
	if err := Retention(context.Background(), c, 0, time.Now(), false, nil); err == nil {
		t.Error("zero age accepted")
	}
	if err := Retention(context.Background(), c, time.Hour, time.Time{}, false, nil); err == nil {
		t.Error("zero time accepted")
	}
	if len(s.Requests()) != 0 {
		t.Error("requests sent with bad arguments")
	}
}
