package setup

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite deploy/opensearch from the embedded templates and the built-in log types")

const deployDir = "../../../deploy/opensearch"

// TestDeployInSync fails when deploy/opensearch differs from what go
// generate writes; -update rewrites it.
func TestDeployInSync(t *testing.T) {
	p := plan(t, registry(t, ""), DeployOptions())
	files, err := Export(p)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := WriteExport(deployDir, files); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(deployDir, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./internal/opensearch/setup)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/opensearch/%s is out of date: run go generate ./internal/opensearch/setup", name)
		}
	}
	for _, d := range GeneratedDirs {
		entries, _ := os.ReadDir(filepath.Join(deployDir, d))
		for _, e := range entries {
			if _, ok := files[d+"/"+e.Name()]; !ok {
				t.Errorf("deploy/opensearch/%s/%s is no longer generated: run go generate ./internal/opensearch/setup", d, e.Name())
			}
		}
	}
}

func TestPlanIndices(t *testing.T) {
	reg := registry(t, autoINI+`
[myapp]
s3_key = myapp/
file_format = json
index_name = log-aws-cloudtrail-org
index_rotation = daily
`)
	p := plan(t, reg, Options{RetentionDays: 90})
	byName := map[string]IndexPlan{}
	for _, ip := range p.Indices {
		byName[ip.Name] = ip
	}
	tests := []struct {
		index      string
		auto       bool
		days, prio int
		comps      []string
	}{
		{index: "log-aws-cloudtrail", auto: true, days: 30, prio: 102, comps: []string{"vigil-ecs", "vigil-log-aws-cloudtrail-fields"}},
		{index: "log-aws-cloudtrail-org", days: 90, prio: 103, comps: []string{"vigil-ecs"}},
		{index: "log-aws-guardduty", days: 400, prio: 102, comps: []string{"vigil-ecs", "vigil-log-aws-guardduty-fields"}},
		{index: "log-aws-elb", days: 90, prio: 102, comps: []string{"vigil-ecs", "vigil-log-aws-elb-fields"}},
		{index: "log-aws-rds-mysql", days: 90, prio: 103, comps: []string{"vigil-ecs", "vigil-rds-fields"}},
		{index: "metrics-opensearch-index", days: 90, prio: 102, comps: []string{"vigil-ecs"}},
	}
	for _, tc := range tests {
		ip, ok := byName[tc.index]
		if !ok {
			t.Errorf("%s not planned", tc.index)
			continue
		}
		if ip.Auto != tc.auto || ip.RetentionDays != tc.days || ip.Priority != tc.prio || !slices.Equal(ip.Components, tc.comps) {
			t.Errorf("%s: %+v, want auto %v, %d days, priority %d, components %v", tc.index, ip, tc.auto, tc.days, tc.prio, tc.comps)
		}
	}
	if got := byName["log-aws-elb"].Types; !slices.Equal(got, []string{"nlb", "alb", "clb"}) {
		t.Errorf("log-aws-elb types %v", got)
	}
	if len(p.WriteAliases) != 1 || p.WriteAliases[0].Name != "log-aws-cloudtrail" || p.WriteAliases[0].Index != "log-aws-cloudtrail-000001" {
		t.Errorf("write aliases %+v", p.WriteAliases)
	}
	// Without any retention only rollover needs a policy.
	p = plan(t, registry(t, "[cloudtrail]\nindex_rotation = auto\n"), Options{})
	if len(p.Policies) != 1 || p.Policies[0].Name != "vigil-log-aws-cloudtrail" {
		t.Errorf("policies without retention: %d", len(p.Policies))
	}
	pol := mustJSON(t, p.Policies[0].Body)
	if !strings.Contains(pol, `"rollover":{"min_index_age":"30d","min_size":"50gb"}`) || strings.Contains(pol, `"delete"`) {
		t.Errorf("rollover-only policy: %s", pol)
	}
}

func TestPlanKeepsForeverWhenOneTypeHasNoRetention(t *testing.T) {
	p := plan(t, registry(t, "[alb]\nretention_days = 10\n"), Options{})
	for _, ip := range p.Indices {
		if ip.Name == "log-aws-elb" && ip.RetentionDays != 0 {
			t.Errorf("log-aws-elb retention %d: nlb and clb keep theirs forever", ip.RetentionDays)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name, ini string
		opts      Options
		want      string
	}{
		{name: "negative default", opts: Options{RetentionDays: -1}, want: "retention days -1"},
		{name: "size", opts: Options{RolloverSize: "50 GB"}, want: `rollover size "50 GB"`},
		{name: "age", opts: Options{RolloverAge: "1month"}, want: `rollover age "1month"`},
		{name: "index name", ini: "[cloudtrail]\nindex_name = Log-CT\n", want: `[cloudtrail] index_name = "Log-CT"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPlan(registry(t, tc.ini), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestSavedObjectsResolve checks the saved objects: unique ids, JSON
// attributes that parse, references to objects of the set, and one
// dashboard per console page.
func TestSavedObjectsResolve(t *testing.T) {
	p := plan(t, registry(t, ""), Options{})
	ids := map[string]SavedObject{}
	titles := map[string]bool{}
	var dashboards []string
	for _, o := range p.SavedObjects {
		key := o.Type + "/" + o.ID
		if _, dup := ids[key]; dup {
			t.Errorf("duplicate saved object %s", key)
		}
		ids[key] = o
		if titles[o.Type+"/"+o.Title()] {
			t.Errorf("duplicate title %s %q", o.Type, o.Title())
		}
		titles[o.Type+"/"+o.Title()] = true
		if o.Type == "dashboard" {
			dashboards = append(dashboards, o.Title())
		}
	}
	sort.Strings(dashboards)
	want := []string{"Vigil: Authentication", "Vigil: CloudTrail API activity", "Vigil: DNS activity", "Vigil: GuardDuty", "Vigil: Security findings", "Vigil: VPC Flow"}
	if !slices.Equal(dashboards, want) {
		t.Errorf("dashboards %v, want %v", dashboards, want)
	}
	for _, o := range p.SavedObjects {
		for _, r := range o.References {
			if _, ok := ids[r.Type+"/"+r.ID]; !ok {
				t.Errorf("%s %s refers to missing %s %s", o.Type, o.ID, r.Type, r.ID)
			}
		}
		for _, k := range []string{"visState", "uiStateJSON", "panelsJSON", "optionsJSON"} {
			if s, ok := o.Attributes[k].(string); ok && !json.Valid([]byte(s)) {
				t.Errorf("%s %s: %s is not JSON", o.Type, o.ID, k)
			}
		}
		if meta, ok := o.Attributes["kibanaSavedObjectMeta"].(map[string]any); ok {
			if s, _ := meta["searchSourceJSON"].(string); !json.Valid([]byte(s)) {
				t.Errorf("%s %s: searchSourceJSON is not JSON", o.Type, o.ID)
			}
		}
		if o.Type == "dashboard" {
			var panels []map[string]any
			if err := json.Unmarshal([]byte(o.Attributes["panelsJSON"].(string)), &panels); err != nil {
				t.Fatal(err)
			}
			refs := map[string]bool{}
			for _, r := range o.References {
				refs[r.Name] = true
			}
			for _, pn := range panels {
				if !refs[pn["panelRefName"].(string)] {
					t.Errorf("dashboard %s: panel %v has no reference", o.ID, pn["panelRefName"])
				}
			}
		}
	}
	// The GuardDuty dashboard has the attack-origin map.
	vis := ids["visualization/vigil-vis-guardduty-origins"]
	if vs, _ := vis.Attributes["visState"].(string); !strings.Contains(vs, `"type":"region_map"`) || !strings.Contains(vs, "source.geo.country_name") {
		t.Errorf("GuardDuty origin map: %s", vs)
	}
	nd, err := NDJSON(p.SavedObjects)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(nd, []byte("\n")); n != len(p.SavedObjects) {
		t.Errorf("NDJSON has %d lines for %d objects", n, len(p.SavedObjects))
	}
}

// TestDashboardFieldsAreMapped checks that every field a visualization
// aggregates on has an explicit, aggregatable type in the index it reads.
func TestDashboardFieldsAreMapped(t *testing.T) {
	reg := registry(t, "")
	p := plan(t, reg, Options{})
	mappings := indexMappings(t, p)
	for _, b := range boards() {
		lt, _ := reg.Get(b.logType)
		m := mappings[lt.IndexName]
		for _, pn := range b.panels {
			for _, a := range pn.aggs {
				params := a["params"].(map[string]any)
				f, _ := params["field"].(string)
				if f == "" {
					continue
				}
				typ := m.fieldType(f)
				switch typ {
				case "keyword", "ip", "long", "float", "date", "geo_point", "boolean":
				default:
					t.Errorf("dashboard %s panel %s: field %s has type %q in %s", b.slug, pn.slug, f, typ, lt.IndexName)
				}
			}
		}
	}
}
