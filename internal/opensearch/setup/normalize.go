package setup

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// OpenSearch does not give back a template or a policy exactly as it was
// sent: settings come back as strings, nested or flat and with the "index."
// prefix; mappings may be wrapped in "_doc" and dotted field names may be
// expanded; ISM adds its own fields and the defaults of every action. The
// functions here bring both sides to one canonical form so that an object
// is rewritten only when it really differs.

// roundTrip returns v as encoding/json decodes it (maps, []any, float64,
// string, bool, nil), so values built in Go compare with decoded answers.
func roundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// sameTemplate reports whether an installed component or index template
// equals the desired one.
func sameTemplate(desired, installed map[string]any) (bool, error) {
	d, err := canonicalTemplate(desired)
	if err != nil {
		return false, err
	}
	i, err := canonicalTemplate(installed)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(d, i), nil
}

// canonicalTemplate is the comparable form of a component or index
// template body.
func canonicalTemplate(body map[string]any) (map[string]any, error) {
	v, err := roundTrip(body)
	if err != nil {
		return nil, fmt.Errorf("encoding a template: %w", err)
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	if t, ok := m["template"].(map[string]any); ok {
		if s, ok := t["settings"].(map[string]any); ok {
			t["settings"] = canonicalSettings(s)
		}
		if mp, ok := t["mappings"].(map[string]any); ok {
			t["mappings"] = canonicalMappings(mp)
		}
		dropEmpty(t)
		m["template"] = t
	}
	dropEmpty(m)
	return m, nil
}

// dropEmpty removes the keys of m whose value is null, an empty object or
// an empty list: OpenSearch leaves them out or sends them, as it likes.
func dropEmpty(m map[string]any) {
	for k, v := range m {
		if isEmpty(v) {
			delete(m, k)
		}
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// canonicalSettings flattens settings to dotted keys with the "index."
// prefix OpenSearch adds, every value a string (lists stay lists of
// strings): {"index":{"number_of_shards":"1"}} and
// {"number_of_shards":1} are the same.
func canonicalSettings(s map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, sub)
			}
		default:
			if !strings.HasPrefix(prefix, "index.") {
				prefix = "index." + prefix
			}
			out[prefix] = settingValue(x)
		}
	}
	walk("", s)
	return out
}

// settingValue is a setting value as OpenSearch gives it back.
func settingValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = settingValue(e)
		}
		return out
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// canonicalMappings unwraps a "_doc" type and expands dotted field names
// into nested properties, dropping "type": "object" where properties say
// it already.
func canonicalMappings(m map[string]any) map[string]any {
	if len(m) == 1 {
		if inner, ok := m["_doc"].(map[string]any); ok {
			m = inner
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		m["properties"] = canonicalProperties(props)
	}
	dropEmpty(m)
	return m
}

// canonicalProperties expands the dotted names of a properties object.
func canonicalProperties(props map[string]any) map[string]any {
	out := map[string]any{}
	// Shorter names first, so "a" is in place before "a.b" merges into it.
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		ci, cj := strings.Count(names[i], "."), strings.Count(names[j], ".")
		if ci != cj {
			return ci < cj
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		def, ok := props[name].(map[string]any)
		if !ok {
			out[name] = props[name]
			continue
		}
		parts := strings.Split(name, ".")
		cur := out
		for _, p := range parts[:len(parts)-1] {
			parent, _ := cur[p].(map[string]any)
			if parent == nil {
				parent = map[string]any{}
				cur[p] = parent
			}
			sub, _ := parent["properties"].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				parent["properties"] = sub
			}
			cur = sub
		}
		last := parts[len(parts)-1]
		if existing, ok := cur[last].(map[string]any); ok {
			mergeField(existing, def)
		} else {
			cur[last] = copyMap(def)
		}
	}
	for k, v := range out {
		if def, ok := v.(map[string]any); ok {
			out[k] = canonicalField(def)
		}
	}
	return out
}

// mergeField merges a field definition into one already placed (a parent
// object given both as "a": {...} and through "a.b").
func mergeField(dst, src map[string]any) {
	for k, v := range src {
		if k == "properties" {
			sp, _ := v.(map[string]any)
			dp, _ := dst["properties"].(map[string]any)
			if dp == nil {
				dp = map[string]any{}
				dst["properties"] = dp
			}
			for pk, pv := range sp {
				dp[pk] = pv
			}
			continue
		}
		dst[k] = v
	}
}

// canonicalField canonicalizes one field definition and its sub-fields.
func canonicalField(def map[string]any) map[string]any {
	if props, ok := def["properties"].(map[string]any); ok {
		def["properties"] = canonicalProperties(props)
		if def["type"] == "object" {
			delete(def, "type")
		}
	}
	return def
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// defaultRetry is the retry block ISM adds to every action.
var defaultRetry = map[string]any{"count": float64(3), "backoff": "exponential", "delay": "1m"}

// samePolicy reports whether an installed ISM policy (the "policy" object of
// GET _plugins/_ism/policies/<id>) equals the desired one.
func samePolicy(desired, installed map[string]any) (bool, error) {
	d, err := canonicalPolicy(desired)
	if err != nil {
		return false, err
	}
	i, err := canonicalPolicy(installed)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(d, i), nil
}

// canonicalPolicy drops what ISM adds to a policy (its id, times, schema
// version, the user who saved it, default retries, false flags, nulls and
// empty lists) and gives ism_template its list form.
func canonicalPolicy(p map[string]any) (map[string]any, error) {
	v, err := roundTrip(p)
	if err != nil {
		return nil, fmt.Errorf("encoding an ISM policy: %w", err)
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	for _, k := range []string{"policy_id", "last_updated_time", "schema_version", "user", "seq_no", "primary_term"} {
		delete(m, k)
	}
	if t, ok := m["ism_template"].(map[string]any); ok {
		m["ism_template"] = []any{t}
	}
	cleanPolicyValue(m)
	return m, nil
}

// cleanPolicyValue removes, recursively, nulls, false values, empty lists,
// last_updated_time and default retry blocks.
func cleanPolicyValue(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			switch {
			case k == "last_updated_time":
				delete(x, k)
				continue
			case k == "retry" && reflect.DeepEqual(sub, defaultRetry):
				delete(x, k)
				continue
			}
			cleanPolicyValue(sub)
			switch s := sub.(type) {
			case nil:
				delete(x, k)
			case bool:
				if !s {
					delete(x, k)
				}
			case []any:
				if len(s) == 0 {
					delete(x, k)
				}
			}
		}
	case []any:
		for _, e := range x {
			cleanPolicyValue(e)
		}
	}
}

// contains reports whether installed holds everything desired holds:
// every key of a desired object with a value that contains the desired
// one, lists of the same length holding containing elements, equal
// scalars. Strings that hold JSON (saved objects keep visState, panelsJSON
// and searchSourceJSON as strings) are compared decoded. Dashboards adds
// attributes of its own (an index pattern's field list, migration
// versions); they do not make an object differ.
func contains(desired, installed any) bool {
	switch d := desired.(type) {
	case map[string]any:
		i, ok := installed.(map[string]any)
		if !ok {
			return false
		}
		for k, dv := range d {
			iv, ok := i[k]
			if !ok {
				if isEmpty(dv) {
					continue
				}
				return false
			}
			if !contains(dv, iv) {
				return false
			}
		}
		return true
	case []any:
		i, ok := installed.([]any)
		if !ok || len(i) != len(d) {
			return false
		}
		for n := range d {
			if !contains(d[n], i[n]) {
				return false
			}
		}
		return true
	case string:
		i, ok := installed.(string)
		if !ok {
			return false
		}
		if i == d {
			return true
		}
		t := strings.TrimSpace(d)
		if t == "" || (t[0] != '{' && t[0] != '[') {
			return false
		}
		var dj, ij any
		if json.Unmarshal([]byte(d), &dj) != nil || json.Unmarshal([]byte(i), &ij) != nil {
			return false
		}
		return contains(dj, ij)
	default:
		return reflect.DeepEqual(desired, installed)
	}
}
