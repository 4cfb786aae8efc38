package web

import (
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/store"
)

// TestDashboardDefinitions checks every panel: unique ids, a known
// visualisation that fits its aggregation, a valid aggregation, log types
// the registry knows, and a query the search language parses.
func TestDashboardDefinitions(t *testing.T) {
	reg, err := logtype.Load()
	if err != nil {
		t.Fatalf("loading the log types: %v", err)
	}
	fits := map[Viz][]store.AggKind{
		VizMetric:   {store.AggCount, store.AggCardinality},
		VizBar:      {store.AggTerms},
		VizPie:      {store.AggTerms},
		VizTimeline: {store.AggDateHistogram},
		VizHeatmap:  {store.AggTerms2},
		VizTable:    {store.AggTerms, store.AggTerms2},
		VizMap:      {store.AggTerms},
	}
	ids := map[string]bool{}
	for _, d := range Dashboards() {
		if d.ID == "" || ids[d.ID] || d.Title == "" || d.Description == "" || len(d.Panels) == 0 {
			t.Errorf("dashboard %q: missing id/title/description/panels or duplicate id", d.ID)
		}
		ids[d.ID] = true
		panels := map[string]bool{}
		for _, p := range d.Panels {
			where := d.ID + "/" + p.ID
			if p.ID == "" || panels[p.ID] || p.Title == "" {
				t.Errorf("%s: missing id or title, or duplicate id", where)
			}
			panels[p.ID] = true
			switch p.Span {
			case 0, 3, 4, 6, 8, 12:
			default:
				t.Errorf("%s: span %d", where, p.Span)
			}
			kinds, ok := fits[p.Viz]
			if !ok {
				t.Errorf("%s: unknown viz %q", where, p.Viz)
			}
			found := false
			for _, k := range kinds {
				found = found || k == p.Agg.Kind
			}
			if !found {
				t.Errorf("%s: viz %s cannot draw a %s aggregation", where, p.Viz, p.Agg.Kind)
			}
			if err := checkAgg(p.Agg); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			if p.Viz == VizMap && !strings.HasSuffix(p.Agg.Field, "country_name") {
				t.Errorf("%s: a map needs a country name field, not %s", where, p.Agg.Field)
			}
			if len(p.Agg.LogTypes) == 0 {
				t.Errorf("%s: no log type", where)
			}
			for _, lt := range p.Agg.LogTypes {
				if _, ok := reg.Get(lt); !ok {
					t.Errorf("%s: log type %q is not in the registry", where, lt)
				}
			}
			if _, err := (&fakeStore{}).parse(p.Agg.Query); err != nil {
				t.Errorf("%s: query %q: %v", where, p.Agg.Query, err)
			}
		}
	}
	// Dashboards returns a copy: changing it changes nothing for others.
	a := Dashboards()
	a[0].Panels[0].Title = "changed"
	if Dashboards()[0].Panels[0].Title == "changed" {
		t.Error("Dashboards shares its panels between calls")
	}
}
