package opensearchtest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// mapping is an index's field mapping: explicit (index creation,
// templates) and, with Options.DynamicMapping, learnt from documents as
// OpenSearch's dynamic mapping does. Documents whose values do not fit are
// refused with OpenSearch's errors.
type mapping struct {
	typ     string // "object" for inner objects
	dynamic string // "", "true", "false", "strict" (objects only)
	props   map[string]*mapping
	raw     map[string]any // the field's own parameters, for GET
}

func newObjectMapping() *mapping { return &mapping{typ: "object", props: map[string]*mapping{}} }

// parseMapping reads {"properties": {...}, "dynamic": ...} into m.
func (m *mapping) merge(raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var in map[string]any
	if json.Unmarshal(raw, &in) != nil {
		return
	}
	m.mergeMap(in)
}

func (m *mapping) mergeMap(in map[string]any) {
	if d, ok := in["dynamic"]; ok {
		m.dynamic = fmt.Sprint(d)
	}
	props, _ := in["properties"].(map[string]any)
	for name, v := range props {
		spec, _ := v.(map[string]any)
		child := m.props[name]
		typ, _ := spec["type"].(string)
		if typ == "" {
			if _, ok := spec["properties"]; ok || child == nil {
				typ = "object"
			}
		}
		if child == nil || (typ != "" && child.typ != typ) {
			child = &mapping{typ: typ, props: map[string]*mapping{}}
			m.props[name] = child
		}
		if typ == "object" || typ == "nested" {
			child.mergeMap(spec)
			continue
		}
		child.raw = spec
	}
}

// render returns the mapping as OpenSearch shows it.
func (m *mapping) render() map[string]any {
	out := map[string]any{}
	if m.dynamic != "" {
		out["dynamic"] = m.dynamic
	}
	if len(m.props) > 0 {
		props := map[string]any{}
		for name, c := range m.props {
			if c.typ == "object" || c.typ == "nested" {
				r := c.render()
				if c.typ == "nested" {
					r["type"] = "nested"
				}
				props[name] = r
				continue
			}
			spec := map[string]any{}
			for k, v := range c.raw {
				spec[k] = v
			}
			spec["type"] = c.typ
			props[name] = spec
		}
		out["properties"] = props
	}
	return out
}

// fieldError is a document refused by the mapping.
type fieldError struct {
	typ, reason string
	cause       map[string]any
}

// check walks a document against the mapping. With dynamic, unmapped fields
// are added to adds (applied only when the document is accepted).
func (m *mapping) check(doc map[string]any, id string, dynamic bool) (adds []func(), ferr *fieldError) {
	var walk func(m *mapping, obj map[string]any, prefix string) *fieldError
	walk = func(m *mapping, obj map[string]any, prefix string) *fieldError {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := obj[k]
			// A dotted key is a path of objects.
			parts := strings.Split(k, ".")
			cur, path := m, prefix
			for _, p := range parts[:len(parts)-1] {
				path += p + "."
				next := cur.props[p]
				if next == nil {
					if e := cur.unmapped(path[:len(path)-1], dynamic); e != nil {
						return e
					}
					next = newObjectMapping()
					if dynamic && cur.dynamic != "false" {
						parent, name, n := cur, p, next
						adds = append(adds, func() {
							if parent.props[name] == nil {
								parent.props[name] = n
							}
						})
					}
				}
				cur = next
			}
			name := parts[len(parts)-1]
			if e := checkValue(cur, name, path+name, v, id, dynamic, &adds, walk); e != nil {
				return e
			}
		}
		return nil
	}
	return adds, walk(m, doc, "")
}

// unmapped refuses a new field under a strict object.
func (m *mapping) unmapped(path string, _ bool) *fieldError {
	if m.dynamic == "strict" {
		parent := "_doc"
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			parent = path[:i]
		}
		name := path[strings.LastIndexByte(path, '.')+1:]
		return &fieldError{typ: "strict_dynamic_mapping_exception",
			reason: fmt.Sprintf("mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", name, parent)}
	}
	return nil
}

func checkValue(parent *mapping, name, path string, v any, id string, dynamic bool, adds *[]func(), walk func(*mapping, map[string]any, string) *fieldError) *fieldError {
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if ferr := checkValue(parent, name, path, e, id, dynamic, adds, walk); ferr != nil {
				return ferr
			}
		}
		return nil
	}
	if v == nil {
		return nil
	}
	f := parent.props[name]
	if f == nil {
		if e := parent.unmapped(path, dynamic); e != nil {
			return e
		}
		if !dynamic || parent.dynamic == "false" {
			return nil
		}
		f = &mapping{typ: dynamicType(v), props: map[string]*mapping{}}
		if f.typ == "text" {
			f.raw = map[string]any{"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}}
		}
		n := f
		*adds = append(*adds, func() {
			if parent.props[name] == nil {
				parent.props[name] = n
			}
		})
	}
	obj, isObj := v.(map[string]any)
	switch f.typ {
	case "object", "nested":
		if !isObj {
			return &fieldError{typ: "mapper_parsing_exception",
				reason: fmt.Sprintf("object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", path, name)}
		}
		return walk(f, obj, path+".")
	}
	if isObj {
		return parseFailure(f.typ, path, id, "{…}", "illegal_state_exception", "Can't get text on a START_OBJECT")
	}
	s := fmt.Sprint(v)
	if str, ok := v.(string); ok {
		s = str
	}
	switch f.typ {
	case "long", "integer", "short", "byte", "unsigned_long":
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return parseFailure(f.typ, path, id, s, "illegal_argument_exception", fmt.Sprintf("For input string: %q", s))
		}
	case "double", "float", "half_float", "scaled_float":
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return parseFailure(f.typ, path, id, s, "number_format_exception", fmt.Sprintf("For input string: %q", s))
		}
	case "boolean":
		if s != "true" && s != "false" && s != "" {
			return parseFailure(f.typ, path, id, s, "illegal_argument_exception",
				fmt.Sprintf("Failed to parse value [%s] as only [true] or [false] are allowed.", s))
		}
	case "ip":
		if _, err := netip.ParseAddr(s); err != nil {
			return parseFailure(f.typ, path, id, s, "illegal_argument_exception", fmt.Sprintf("'%s' is not an IP string literal.", s))
		}
	case "date":
		if _, ok := v.(string); ok && !isDate(s) {
			return parseFailure(f.typ, path, id, s, "illegal_argument_exception",
				fmt.Sprintf("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", s))
		}
	}
	return nil
}

func parseFailure(typ, path, id, preview, causeType, causeReason string) *fieldError {
	return &fieldError{typ: "mapper_parsing_exception",
		reason: fmt.Sprintf("failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", path, typ, id, preview),
		cause:  errCause(causeType, causeReason)}
}

// dynamicType is the type OpenSearch's dynamic mapping gives a new value.
func dynamicType(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "long"
		}
		return "float"
	case float64:
		return "float"
	case string:
		if isDate(x) {
			return "date"
		}
		return "text"
	}
	return "text"
}

// isDate reports whether s is a date dynamic mapping detects
// (strict_date_optional_time).
func isDate(s string) bool {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}
