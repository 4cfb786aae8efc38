package demo_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/vigil-siem/vigil/internal/app"
	"github.com/vigil-siem/vigil/internal/codec"
	"github.com/vigil-siem/vigil/internal/demo"
	"github.com/vigil-siem/vigil/internal/enrich/geoip"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/source/file"
)

// typeStats is what the documents of one log type hold.
type typeStats struct {
	docs int
	// fields counts the documents having each checked field.
	fields map[string]int
	// values counts the values of a few fields.
	values map[string]map[string]int
	// geo counts the documents whose source GeoIP placed, per value of
	// the fields dashboards filter on ("" for all), and countries counts
	// them per country.
	geo       map[string]int
	iso       int
	countries map[string]int
	// unplaced lists public source addresses left without a country.
	unplaced map[string]int
	// attackerISO counts the attacker's documents per country code.
	attackerISO map[string]int
}

// collector is a sink that keeps statistics of the documents instead of
// the documents.
type collector struct {
	mu     sync.Mutex
	p      fastjson.Parser
	byType map[string]*typeStats
	ids    map[string]bool
	dupIDs int
	dups   []string
	// check lists the fields to look for per log type.
	check map[string][]string
	// count lists the fields whose values are counted.
	count []string
	// attacker is the attack's source address.
	attacker string
}

func (c *collector) Write(_ context.Context, b *pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range b.Docs {
		d := &b.Docs[i]
		st := c.byType[d.LogType]
		if st == nil {
			st = &typeStats{fields: map[string]int{}, values: map[string]map[string]int{}, geo: map[string]int{},
				countries: map[string]int{}, unplaced: map[string]int{}, attackerISO: map[string]int{}}
			c.byType[d.LogType] = st
		}
		st.docs++
		if c.ids[d.Index+"/"+d.ID] {
			c.dupIDs++
			c.dups = append(c.dups, d.LogType+" "+d.ID+": "+string(d.Source[:min(len(d.Source), 300)]))
		}
		c.ids[d.Index+"/"+d.ID] = true
		v, err := c.p.ParseBytes(d.Source)
		if err != nil {
			return fmt.Errorf("document %s is not JSON: %w", d.ID, err)
		}
		for _, f := range c.check[d.LogType] {
			if x := v.Get(strings.Split(f, ".")...); x != nil && x.Type() != fastjson.TypeNull {
				st.fields[f]++
			}
		}
		for _, f := range c.count {
			x := v.Get(strings.Split(f, ".")...)
			if x == nil {
				continue
			}
			s := string(x.GetStringBytes())
			if x.Type() != fastjson.TypeString {
				s = x.String()
			}
			if st.values[f] == nil {
				st.values[f] = map[string]int{}
			}
			st.values[f][s]++
		}
		c.geoStats(st, v)
		d.Ack.Done(event.Delivered)
	}
	return nil
}

func (c *collector) Close(context.Context) error { return nil }

// geoFilters are the fields the country panels filter on.
var geoFilters = []string{"event.action", "event.outcome"}

// geoStats counts what GeoIP added to a document's source.
func (c *collector) geoStats(st *typeStats, v *fastjson.Value) {
	ip := string(v.GetStringBytes("source", "ip"))
	country := string(v.GetStringBytes("source", "geo", "country_name"))
	iso := string(v.GetStringBytes("source", "geo", "country_iso_code"))
	if iso != "" {
		st.iso++
	}
	if ip != "" && ip == c.attacker {
		st.attackerISO[iso]++
	}
	if country == "" {
		if a, err := netip.ParseAddr(ip); err == nil && a.IsGlobalUnicast() && !a.IsPrivate() {
			st.unplaced[ip]++
		}
		return
	}
	st.countries[country]++
	st.geo[""]++
	for _, f := range geoFilters {
		if x := v.GetStringBytes(strings.Split(f, ".")...); x != nil {
			st.geo[f+"="+string(x)]++
		}
	}
}

// dashboardFields are the fields the console's dashboards read, per log
// type, that every type's documents must carry (at least some of them).
var dashboardFields = map[string][]string{
	demo.TypeCloudTrail:  {"event.module", "event.action", "cloud.region", "error.code", "user.name", "source.ip", "event.outcome", "cloud.account.id"},
	demo.TypeVPCFlow:     {"source.ip", "destination.ip", "destination.port", "network.bytes", "event.action", "network.transport", "cloud.instance.id", "network.direction"},
	demo.TypeGuardDuty:   {"event.severity", "severitylabel", "rule.id", "rule.name", "ThreatPurpose", "source.ip", "source.geo.country_name", "source.geo.location", "cloud.instance.id", "user.name", "resource.resourceType"},
	demo.TypeSecurityHub: {"event.module", "Severity.Label", "ProductName", "Compliance.Status", "Workflow.Status", "cloud.account.id", "rule.name", "rule.id", "cloud.instance.id", "source.ip", "user.name"},
	demo.TypeRoute53:     {"dns.question.name", "dns.question.type", "dns.response_code", "vpc_id", "cloud.instance.id", "source.ip", "dns.answers.data"},
	demo.TypeLinuxSecure: {"process.name", "event.outcome", "event.action", "event.category", "host.hostname", "user.name", "source.ip"},
}

// load runs the demo's objects through the real pipeline (detection,
// decoding, parsing, normalization, the registered transforms and GeoIP
// enrichment with the demo's own databases), as `vigil demo` loads them.
func load(t testing.TB, s demo.Summary) (*collector, *pipeline.Stats, []string) {
	t.Helper()
	reg, err := logtype.Load()
	if err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(s.GeoIPCity, s.GeoIPASN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &collector{byType: map[string]*typeStats{}, ids: map[string]bool{}, check: dashboardFields, attacker: s.Attack.AttackerIP,
		count: []string{"source.ip", "event.action", "event.outcome", "severitylabel", "event.module", "rule.id", "dns.answers.data", "user.name"}}
	stats := &pipeline.Stats{Start: time.Now()}
	var mu sync.Mutex
	var failures []string
	cfg := &pipeline.ObjectConfig{
		Registry: reg, Scripts: app.Scripts(), Codec: codec.Config{}, Stats: stats,
		Enrichers: []normalize.Enricher{db.Enricher()},
		OnRecordError: func(f pipeline.Failure) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, fmt.Sprintf("%s:%d: %s: %.200s", f.Origin.Key, f.Line, f.Reason, f.Raw))
		},
	}
	src := &file.Source{Paths: []string{s.LogDir}, NewAck: func(event.Origin) *event.Ack { return event.NewAck(nil) },
		OnError: func(path string, err error) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, path+": "+err.Error())
		}}
	err = pipeline.Run(context.Background(), pipeline.Config{Workers: 2}, src,
		func() pipeline.Processor { return pipeline.NewObjectProcessor(cfg) }, c,
		func(o *pipeline.Object, err error) {
			var oe *pipeline.ObjectError
			if errors.As(err, &oe) && oe.Err == nil {
				return // its records are listed one by one
			}
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, o.Origin.Key+": "+err.Error())
		})
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	return c, stats, failures
}

func TestGeneratedDataLoads(t *testing.T) {
	_, s := generate(t, demo.Options{Seed: 20240314, Now: now, Scale: 0.25})
	start := time.Now()
	c, stats, failures := load(t, s)
	t.Logf("loaded %d files, %d records in %v", stats.Files.Load(), stats.Records.Load(), time.Since(start))
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more failures", len(failures)-20)
			break
		}
		t.Error(f)
	}
	if n := stats.Errors.Load(); n > 0 || stats.Skipped.Load() > 0 || stats.FileErrs.Load() > 0 {
		t.Errorf("%d record errors, %d skipped files, %d failed files", n, stats.Skipped.Load(), stats.FileErrs.Load())
	}
	if c.dupIDs > 0 {
		t.Errorf("%d documents share an index and id with another: %q", c.dupIDs, c.dups)
	}
	for _, typ := range demo.Types {
		st := c.byType[typ]
		if st == nil {
			t.Errorf("%s: no documents", typ)
			continue
		}
		if st.docs != s.Records[typ] {
			t.Errorf("%s: %d documents, the summary says %d records", typ, st.docs, s.Records[typ])
		}
		for _, f := range dashboardFields[typ] {
			if st.fields[f] == 0 {
				t.Errorf("%s: no document has %s", typ, f)
			}
		}
		t.Logf("%s: %d documents; fields present: %v", typ, st.docs, st.fields)
	}

	ip := s.Attack.AttackerIP
	for _, typ := range []string{demo.TypeCloudTrail, demo.TypeVPCFlow, demo.TypeGuardDuty, demo.TypeSecurityHub, demo.TypeLinuxSecure} {
		if st := c.byType[typ]; st == nil || st.values["source.ip"][ip] == 0 {
			t.Errorf("%s: no document has source.ip %s", typ, ip)
		}
	}
	if st := c.byType[demo.TypeRoute53]; st == nil || st.values["dns.answers.data"][ip] == 0 {
		t.Errorf("route53resolver: no answer is the attacker's address %s", ip)
	}
	checks := []struct {
		typ, field, value string
		min               int
	}{
		{demo.TypeCloudTrail, "event.action", "StopLogging", 1},
		{demo.TypeCloudTrail, "event.action", "CreateAccessKey", 1},
		{demo.TypeCloudTrail, "event.action", "GetObject", 35},
		{demo.TypeCloudTrail, "event.outcome", "failure", 40},
		{demo.TypeVPCFlow, "event.action", "REJECT", 500},
		{demo.TypeLinuxSecure, "event.outcome", "failure", 1000},
		{demo.TypeLinuxSecure, "user.name", s.Attack.SSHUser, 10},
		{demo.TypeGuardDuty, "rule.id", "UnauthorizedAccess:EC2/SSHBruteForce", 2},
		{demo.TypeGuardDuty, "rule.id", "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", 1},
		{demo.TypeGuardDuty, "severitylabel", "high", 1},
		{demo.TypeSecurityHub, "event.module", "guardduty", 10},
		{demo.TypeSecurityHub, "event.module", "security hub", 100},
		{demo.TypeSecurityHub, "event.module", "inspector", 10},
		{demo.TypeSecurityHub, "event.module", "iam access analyzer", 2},
	}
	for _, ck := range checks {
		st := c.byType[ck.typ]
		if st == nil || st.values[ck.field][ck.value] < ck.min {
			var got map[string]int
			if st != nil {
				got = st.values[ck.field]
			}
			t.Errorf("%s: %s=%q in %d documents, want at least %d (values: %v)", ck.typ, ck.field, ck.value, got[ck.value], ck.min, top(got, 8))
		}
	}
	// The attacker's calls show the stolen instance credentials.
	if st := c.byType[demo.TypeCloudTrail]; st.values["user.name"][s.Attack.InstanceID] == 0 {
		t.Errorf("cloudtrail: no call by the instance session %s", s.Attack.InstanceID)
	}
	t.Run("country panels", func(t *testing.T) { checkCountryPanels(t, c, s) })
}

// checkCountryPanels checks that GeoIP enrichment with the demo's own
// databases gives every dashboard's country panel data: each panel's
// documents (its log type and filter) have source.geo.country_name, from
// several countries, and no public source address is left unplaced.
func checkCountryPanels(t *testing.T, c *collector, s demo.Summary) {
	panels := []struct {
		panel, typ, filter string
		min                int
	}{
		{"CloudTrail: calls by source country", demo.TypeCloudTrail, "", 1000},
		{"VPC Flow Logs: rejected sources by country", demo.TypeVPCFlow, "event.action=REJECT", 500},
		{"GuardDuty: attack origins", demo.TypeGuardDuty, "", 10},
		{"Authentication: SSH failures by source country", demo.TypeLinuxSecure, "event.outcome=failure", 1000},
		{"Security Hub findings with a source", demo.TypeSecurityHub, "", 1},
	}
	for _, p := range panels {
		st := c.byType[p.typ]
		if st == nil {
			t.Errorf("%s: no documents", p.panel)
			continue
		}
		if n := st.geo[p.filter]; n < p.min {
			t.Errorf("%s: %d documents with source.geo.country_name, want at least %d", p.panel, n, p.min)
		}
		if st.iso != st.geo[""] {
			t.Errorf("%s: %d documents with a country name, %d with its ISO code", p.typ, st.geo[""], st.iso)
		}
		if len(st.countries) < 3 && p.typ != demo.TypeSecurityHub {
			t.Errorf("%s: countries %v, want at least 3", p.panel, st.countries)
		}
		if len(st.unplaced) > 0 {
			t.Errorf("%s: public source addresses without a country: %v", p.typ, top(st.unplaced, 10))
		}
		if len(st.attackerISO) > 0 && (len(st.attackerISO) != 1 || st.attackerISO[s.Attack.AttackerCountry] == 0) {
			t.Errorf("%s: the attacker %s is placed in %v, want %s", p.typ, s.Attack.AttackerIP, st.attackerISO, s.Attack.AttackerCountry)
		}
		t.Logf("%s: %d of %d documents placed (%d with the panel's filter), %d countries: %v",
			p.typ, st.geo[""], st.docs, st.geo[p.filter], len(st.countries), top(st.countries, 6))
	}
}

// top returns the n most frequent values, for messages.
func top(m map[string]int, n int) []string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var out []string
	for i := 0; i < n && i < len(all); i++ {
		out = append(out, fmt.Sprintf("%s=%d", all[i].k, all[i].v))
	}
	return out
}

// BenchmarkGenerateAndLoad measures the demo's start: generating the data
// and loading it through the pipeline.
func BenchmarkGenerateAndLoad(b *testing.B) {
	for b.Loop() {
		s, err := demo.Generate(b.TempDir(), demo.Options{Seed: 1, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		c, _, failures := load(b, s)
		if len(failures) > 0 {
			b.Fatal(failures[0])
		}
		docs := 0
		for _, st := range c.byType {
			docs += st.docs
		}
		b.ReportMetric(float64(docs), "docs/op")
	}
}
