package setup

import (
	"encoding/json"
	"strings"
	"testing"
)

// asOpenSearchReturns rewrites a template body the way a cluster may give it
// back: settings nested and as strings, mappings wrapped in "_doc" with
// dotted names expanded into objects.
func asOpenSearchReturns(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	v, err := roundTrip(body)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	tmpl, ok := m["template"].(map[string]any)
	if !ok {
		return m
	}
	if s, ok := tmpl["settings"].(map[string]any); ok {
		nested := map[string]any{}
		for k, val := range s {
			if !strings.HasPrefix(k, "index.") {
				k = "index." + k
			}
			parts := strings.Split(k, ".")
			cur := nested
			for _, p := range parts[:len(parts)-1] {
				next, _ := cur[p].(map[string]any)
				if next == nil {
					next = map[string]any{}
					cur[p] = next
				}
				cur = next
			}
			cur[parts[len(parts)-1]] = settingValue(val)
		}
		tmpl["settings"] = nested
	}
	if mp, ok := tmpl["mappings"].(map[string]any); ok {
		if props, ok := mp["properties"].(map[string]any); ok {
			mp["properties"] = expandForTest(props)
		}
		tmpl["mappings"] = map[string]any{"_doc": mp}
	}
	return m
}

// expandForTest expands dotted property names into "type": "object" fields
// with properties, as a cluster that parsed the mapping writes it.
func expandForTest(props map[string]any) map[string]any {
	out := map[string]any{}
	for name, def := range props {
		parts := strings.Split(name, ".")
		cur := out
		for _, p := range parts[:len(parts)-1] {
			obj, _ := cur[p].(map[string]any)
			if obj == nil {
				obj = map[string]any{"type": "object", "properties": map[string]any{}}
				cur[p] = obj
			}
			if obj["properties"] == nil {
				obj["properties"] = map[string]any{}
			}
			obj["type"] = "object"
			cur = obj["properties"].(map[string]any)
		}
		last := parts[len(parts)-1]
		d := def.(map[string]any)
		if sub, ok := d["properties"].(map[string]any); ok {
			d["properties"] = expandForTest(sub)
		}
		if existing, ok := cur[last].(map[string]any); ok {
			for k, v := range d {
				if k != "properties" {
					existing[k] = v
				}
			}
			continue
		}
		cur[last] = d
	}
	return out
}

func TestSameTemplateAcrossOpenSearchForms(t *testing.T) {
	comps, err := loadComponents()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range comps {
		installed := asOpenSearchReturns(t, c.body)
		same, err := sameTemplate(c.body, installed)
		if err != nil || !same {
			t.Errorf("%s: the form OpenSearch gives back is not recognized as equal (err %v)", c.name, err)
		}
	}
}

func TestSameTemplateSeesChanges(t *testing.T) {
	base := map[string]any{
		"template": map[string]any{
			"settings": map[string]any{"index.mapping.total_fields.limit": 2000, "index.query.default_field": []any{"@message"}},
			"mappings": map[string]any{"properties": map[string]any{
				"source.ip":  map[string]any{"type": "ip"},
				"source":     map[string]any{"type": "object"},
				"@timestamp": map[string]any{"type": "date", "format": "strict_date_optional_time||epoch_millis"},
			}},
		},
		"version": 1,
		"_meta":   map[string]any{"managed_by": "vigil"},
	}
	tests := []struct {
		name      string
		installed string
		same      bool
	}{
		{name: "flat strings", same: true, installed: `{"template":{"settings":{"index.mapping.total_fields.limit":"2000","index.query.default_field":["@message"]},
			"mappings":{"properties":{"source":{"properties":{"ip":{"type":"ip"}}},"@timestamp":{"type":"date","format":"strict_date_optional_time||epoch_millis"}}}},"version":1,"_meta":{"managed_by":"vigil"}}`},
		{name: "nested without index prefix", same: true, installed: `{"template":{"settings":{"mapping":{"total_fields":{"limit":2000}},"query":{"default_field":["@message"]}},
			"mappings":{"_doc":{"properties":{"source.ip":{"type":"ip"},"source":{"type":"object"},"@timestamp":{"type":"date","format":"strict_date_optional_time||epoch_millis"}}}},"aliases":{}},"version":1,"_meta":{"managed_by":"vigil"}}`},
		{name: "other limit", installed: `{"template":{"settings":{"index.mapping.total_fields.limit":"3000","index.query.default_field":["@message"]},
			"mappings":{"properties":{"source.ip":{"type":"ip"},"@timestamp":{"type":"date","format":"strict_date_optional_time||epoch_millis"}}}},"version":1,"_meta":{"managed_by":"vigil"}}`},
		{name: "other type", installed: `{"template":{"settings":{"index.mapping.total_fields.limit":"2000","index.query.default_field":["@message"]},
			"mappings":{"properties":{"source.ip":{"type":"keyword"},"@timestamp":{"type":"date","format":"strict_date_optional_time||epoch_millis"}}}},"version":1,"_meta":{"managed_by":"vigil"}}`},
		{name: "field missing", installed: `{"template":{"settings":{"index.mapping.total_fields.limit":"2000","index.query.default_field":["@message"]},
			"mappings":{"properties":{"source.ip":{"type":"ip"}}}},"version":1,"_meta":{"managed_by":"vigil"}}`},
		{name: "extra setting", installed: `{"template":{"settings":{"index.mapping.total_fields.limit":"2000","index.query.default_field":["@message"],"index.number_of_shards":"3"},
			"mappings":{"properties":{"source.ip":{"type":"ip"},"@timestamp":{"type":"date","format":"strict_date_optional_time||epoch_millis"}}}},"version":1,"_meta":{"managed_by":"vigil"}}`},
		{name: "other version", installed: `{"template":{"settings":{"index.mapping.total_fields.limit":"2000","index.query.default_field":["@message"]},
			"mappings":{"properties":{"source.ip":{"type":"ip"},"@timestamp":{"type":"date","format":"strict_date_optional_time||epoch_millis"}}}},"version":2,"_meta":{"managed_by":"vigil"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var inst map[string]any
			if err := json.Unmarshal([]byte(tc.installed), &inst); err != nil {
				t.Fatal(err)
			}
			same, err := sameTemplate(base, inst)
			if err != nil {
				t.Fatal(err)
			}
			if same != tc.same {
				t.Errorf("sameTemplate = %v, want %v", same, tc.same)
			}
		})
	}
}

func TestSamePolicyIgnoresISMDefaults(t *testing.T) {
	ip := IndexPlan{Name: "log-aws-cloudtrail", Auto: true, RetentionDays: 30, Priority: 102}
	desired := policyBody(ip, Options{RolloverSize: "50gb", RolloverAge: "30d"})["policy"].(map[string]any)
	// GET _plugins/_ism/policies/<id> on OpenSearch 2.x, "policy" object.
	installed := `{
	  "policy_id": "vigil-log-aws-cloudtrail",
	  "description": "Vigil: rolls log-aws-cloudtrail over at 50gb or 30d; deletes indices 30 days after their creation (managed by vigil setup opensearch)",
	  "last_updated_time": 1704164645000,
	  "schema_version": 21,
	  "error_notification": null,
	  "default_state": "hot",
	  "states": [
	    {"name": "hot",
	     "actions": [{"retry": {"count": 3, "backoff": "exponential", "delay": "1m"},
	                  "rollover": {"min_size": "50gb", "min_index_age": "30d", "copy_alias": false}}],
	     "transitions": [{"state_name": "delete", "conditions": {"min_index_age": "30d"}}]},
	    {"name": "delete",
	     "actions": [{"retry": {"count": 3, "backoff": "exponential", "delay": "1m"}, "delete": {}}],
	     "transitions": []}
	  ],
	  "ism_template": [{"index_patterns": ["log-aws-cloudtrail-*"], "priority": 102, "last_updated_time": 1704164645000}],
	  "user": {"name": "admin", "backend_roles": [], "roles": ["all_access"], "custom_attribute_names": []}
	}`
	var inst map[string]any
	if err := json.Unmarshal([]byte(installed), &inst); err != nil {
		t.Fatal(err)
	}
	same, err := samePolicy(desired, inst)
	if err != nil || !same {
		t.Fatalf("samePolicy = %v, %v; want the installed form to be equal", same, err)
	}
	for _, edit := range []struct{ from, to string }{
		{`"conditions": {"min_index_age": "30d"}`, `"conditions": {"min_index_age": "60d"}`},
		{`"min_size": "50gb"`, `"min_size": "100gb"`},
		{`"delay": "1m"}, "delete"`, `"delay": "5m"}, "delete"`},
		{`"priority": 102`, `"priority": 5`},
		{`"copy_alias": false`, `"copy_alias": true`},
	} {
		changed := strings.Replace(installed, edit.from, edit.to, 1)
		if changed == installed {
			t.Fatalf("edit %q not applied", edit.from)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(changed), &m); err != nil {
			t.Fatal(err)
		}
		if same, _ := samePolicy(desired, m); same {
			t.Errorf("policy with %s is taken as equal", edit.to)
		}
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		name               string
		desired, installed string
		want               bool
	}{
		{name: "extra attribute", desired: `{"title":"a"}`, installed: `{"title":"a","fields":"[]"}`, want: true},
		{name: "missing attribute", desired: `{"title":"a","description":"d"}`, installed: `{"title":"a"}`},
		{name: "empty desired value may be absent", desired: `{"title":"a","filter":[]}`, installed: `{"title":"a"}`, want: true},
		{name: "json string reordered", desired: `{"v":"{\"a\":1,\"b\":[1,2]}"}`, installed: `{"v":"{\"b\":[1,2],\"a\":1,\"c\":true}"}`, want: true},
		{name: "json string differs", desired: `{"v":"{\"a\":1}"}`, installed: `{"v":"{\"a\":2}"}`},
		{name: "list length", desired: `{"l":[1,2]}`, installed: `{"l":[1,2,3]}`},
		{name: "number types", desired: `{"n":1}`, installed: `{"n":1.0}`, want: true},
		{name: "plain string", desired: `{"s":"x"}`, installed: `{"s":"y"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d, i any
			if err := json.Unmarshal([]byte(tc.desired), &d); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.installed), &i); err != nil {
				t.Fatal(err)
			}
			if got := contains(d, i); got != tc.want {
				t.Errorf("contains = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPatternsOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"log-aws-cloudtrail-*", "log-aws-cloudtrail-*", true},
		{"log-aws-cloudtrail-*", "log-*", true},
		{"log-aws-cloudtrail-*", "log-aws-cloudtrail-org-*", true},
		{"log-aws-cloudtrail-*", "log-aws-vpcflowlogs-*", false},
		{"log-aws-cloudtrail-*", "log-aws-cloudtrail-2024-01", true},
		{"log-aws-cloudtrail-*", "metrics-*", false},
		{"a-2024", "a-2025", false},
	}
	for _, tc := range tests {
		if got := patternsOverlap([]string{tc.a}, []string{tc.b}); got != tc.want {
			t.Errorf("patternsOverlap(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
