package opensearchtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// bulkAction is the metadata of one bulk item.
type bulkAction struct {
	Index string `json:"_index"`
	ID    string `json:"_id"`
}

// bulk handles POST /_bulk and POST /{index}/_bulk. s.mu is held.
func (s *Server) bulk(w *recorder, defIndex string, body []byte, q url.Values) {
	if len(bytes.TrimSpace(body)) == 0 {
		w.json(400, errBody(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;"))
		return
	}
	if body[len(body)-1] != '\n' {
		w.json(400, errBody(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"))
		return
	}
	lines := bytes.Split(body[:len(body)-1], []byte("\n"))
	type item struct {
		op     string
		meta   bulkAction
		source []byte
		line   int
	}
	var items []item
	for i := 0; i < len(lines); i++ {
		l := bytes.TrimSpace(lines[i])
		if len(l) == 0 {
			continue
		}
		var it item
		it.line = i + 1
		v, err := s.parser.ParseBytes(l)
		var o *fastjson.Object
		if err == nil {
			o, err = v.Object()
		}
		if err != nil || o.Len() != 1 {
			w.json(400, errBody(400, "illegal_argument_exception", fmt.Sprintf("Malformed action/metadata line [%d], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]", i+1)))
			return
		}
		bad := false
		o.Visit(func(op []byte, meta *fastjson.Value) {
			it.op = string(op)
			mo, err := meta.Object()
			if err != nil {
				bad = true
				return
			}
			mo.Visit(func(k []byte, x *fastjson.Value) {
				switch string(k) {
				case "_index", "_id":
					sb, err := x.StringBytes()
					if err != nil {
						bad = true
						return
					}
					if string(k) == "_index" {
						it.meta.Index = string(sb)
					} else {
						it.meta.ID = string(sb)
					}
				}
			})
		})
		if bad {
			w.json(400, errBody(400, "illegal_argument_exception", fmt.Sprintf("Malformed action/metadata line [%d], expected a simple value for field [_id] but found [START_OBJECT]", i+1)))
			return
		}
		switch it.op {
		case "index", "create", "update":
			if i+1 >= len(lines) {
				w.json(400, errBody(400, "action_request_validation_exception", "Validation Failed: 1: source is missing;"))
				return
			}
			i++
			it.source = lines[i]
		case "delete":
		default:
			w.json(400, errBody(400, "illegal_argument_exception", fmt.Sprintf("Malformed action/metadata line [%d], expected field [create], [delete], [index] or [update] but found [%s]", i+1, it.op)))
			return
		}
		if it.meta.Index == "" {
			it.meta.Index = defIndex
		}
		if it.meta.Index == "" {
			w.json(400, errBody(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;"))
			return
		}
		items = append(items, it)
	}
	f := s.faults
	ops := make([]string, 0, len(items))
	out := make([]map[string]any, 0, len(items))
	anyErr := false
	s.reqSeq++
	reqN := s.reqSeq
	for k, it := range items {
		res := map[string]any{"_index": it.meta.Index, "_id": it.meta.ID}
		fail := func(status int, cause map[string]any) {
			res["status"] = status
			if _, ok := cause["index"]; !ok {
				cause["index"] = it.meta.Index
			}
			if ix := s.indices[it.meta.Index]; ix != nil {
				cause["index_uuid"] = ix.uuid
				cause["shard"] = "0"
			}
			res["error"] = cause
			anyErr = true
		}
		key := it.meta.Index + "\x00" + it.meta.ID
		if it.meta.ID == "" {
			key = fmt.Sprintf("auto\x00%d\x00%d", reqN, k)
		}
		s.itemSeq[key]++
		attempt := s.itemSeq[key]
		switch {
		case s.chance("item429\x00"+key, attempt, f.Item429Rate):
			fail(http.StatusTooManyRequests, errCause("rejected_execution_exception",
				"rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]"))
		case s.chance("item503\x00"+key, attempt, f.Item503Rate):
			fail(http.StatusServiceUnavailable, errCause("unavailable_shards_exception",
				fmt.Sprintf("[%s][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[%s][0]] containing [1] requests]", it.meta.Index, it.meta.Index)))
		default:
			s.applyItem(it.op, &it.meta, it.source, res, fail)
		}
		ops = append(ops, it.op)
		out = append(out, res)
	}
	w.header.Set("Content-Type", "application/json; charset=UTF-8")
	w.status = 200
	w.body = encodeBulk(1+len(items)/100, anyErr, ops, out, parseFilter(q.Get("filter_path")))
	w.filtered = true
}

// itemKeys is the order OpenSearch writes a bulk item's fields in.
var itemKeys = []string{"_index", "_id", "_version", "result", "forced_refresh", "_shards", "_seq_no", "_primary_term", "status", "error"}

// encodeBulk writes a bulk answer with filter_path applied as it is built
// (the generic filter is slow on large answers). A pattern deeper than a
// field (items.*.error.type) keeps the whole field.
func encodeBulk(took int, anyErr bool, ops []string, items []map[string]any, f filter) []byte {
	b := make([]byte, 0, 64+len(items)*96)
	b = append(b, '{')
	first := true
	field := func(key string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendQuote(b, key)
		b = append(b, ':')
	}
	if f.keeps("took") {
		field("took")
		b = strconv.AppendInt(b, int64(took), 10)
	}
	if f.keeps("errors") {
		field("errors")
		b = strconv.AppendBool(b, anyErr)
	}
	var list []byte
	n := 0
	for i, res := range items {
		var one []byte
		for _, k := range itemKeys {
			v, ok := res[k]
			if !ok || !f.keeps("items", ops[i], k) {
				continue
			}
			if len(one) > 0 {
				one = append(one, ',')
			}
			one = strconv.AppendQuote(one, k)
			one = append(one, ':')
			enc, err := json.Marshal(v)
			if err != nil {
				enc = []byte("null")
			}
			one = append(one, enc...)
		}
		if len(one) == 0 {
			continue
		}
		if n > 0 {
			list = append(list, ',')
		}
		n++
		list = append(list, `{"`...)
		list = append(list, ops[i]...)
		list = append(list, `":{`...)
		list = append(list, one...)
		list = append(list, "}}"...)
	}
	if n > 0 || (f == nil && len(items) == 0) {
		field("items")
		b = append(b, '[')
		b = append(b, list...)
		b = append(b, ']')
	}
	return append(b, '}')
}

// filter is a parsed filter_path; nil keeps everything.
type filter [][]string

func parseFilter(spec string) filter {
	var f filter
	for _, p := range strings.Split(spec, ",") {
		if p = strings.TrimSpace(p); p != "" && !strings.HasPrefix(p, "-") {
			f = append(f, strings.Split(p, "."))
		}
	}
	return f
}

// keeps reports whether a field at path is kept: some pattern matches the
// path or a prefix of it, or goes deeper under it.
func (f filter) keeps(path ...string) bool {
	if f == nil {
		return true
	}
	for _, p := range f {
		if matchPattern(p, path) {
			return true
		}
	}
	return false
}

func matchPattern(p, path []string) bool {
	if len(p) == 0 || len(path) == 0 {
		return true
	}
	if p[0] == "**" {
		return matchPattern(p[1:], path) || matchPattern(p, path[1:])
	}
	return matchKey(p[0], path[0]) && matchPattern(p[1:], path[1:])
}

// applyItem writes or deletes one document. s.mu is held.
func (s *Server) applyItem(op string, meta *bulkAction, source []byte, res map[string]any, fail func(int, map[string]any)) {
	if why := validIndexName(meta.Index); why != "" {
		fail(400, errCause("invalid_index_name_exception", "Invalid index name ["+meta.Index+"], "+why, "index_uuid", "_na_"))
		return
	}
	ix, aerr := s.writeIndexLocked(meta.Index)
	if aerr != nil {
		fail(400, aerr)
		return
	}
	if ix == nil {
		if op == "delete" || op == "update" {
			fail(404, errCause("index_not_found_exception", "no such index ["+meta.Index+"]", "resource.type", "index_expression", "resource.id", meta.Index, "index_uuid", "_na_"))
			return
		}
		ix = s.newIndexLocked(meta.Index)
	}
	res["_index"] = ix.name
	if status, cause := ix.writeBlock(); status != 0 {
		cause["index"] = ix.name
		fail(status, cause)
		return
	}
	switch op {
	case "delete":
		d := ix.docs[meta.ID]
		if d == nil {
			s.seqNo++
			res["_version"], res["result"], res["status"] = 1, "not_found", 404
			res["_shards"], res["_seq_no"], res["_primary_term"] = shards(1), s.seqNo, 1
			return
		}
		delete(ix.docs, meta.ID)
		for i, id := range ix.order {
			if id == meta.ID {
				ix.order = append(ix.order[:i], ix.order[i+1:]...)
				break
			}
		}
		s.seqNo++
		res["_version"], res["result"], res["status"] = d.Version+1, "deleted", 200
		res["_shards"], res["_seq_no"], res["_primary_term"] = shards(1), s.seqNo, 1
		return
	case "update":
		fail(400, errCause("illegal_argument_exception", "opensearchtest does not implement bulk update"))
		return
	}
	src := bytes.TrimSpace(source)
	if len(src) == 0 || src[0] != '{' || fastjson.ValidateBytes(src) != nil {
		fail(400, errCause("mapper_parsing_exception", "failed to parse",
			"caused_by", errCause("json_parse_exception", "Unexpected character in the document source")))
		return
	}
	var doc map[string]any
	var adds []func()
	if len(s.rejects) > 0 || s.opts.DynamicMapping || len(ix.mapping.props) > 0 {
		dec := json.NewDecoder(bytes.NewReader(src))
		dec.UseNumber()
		_ = dec.Decode(&doc) // valid JSON, checked above
		var ferr *fieldError
		if adds, ferr = ix.mapping.check(doc, meta.ID, s.opts.DynamicMapping); ferr != nil {
			if ferr.cause != nil {
				fail(400, errCause(ferr.typ, ferr.reason, "caused_by", ferr.cause))
			} else {
				fail(400, errCause(ferr.typ, ferr.reason))
			}
			return
		}
	}
	for field := range s.rejects {
		if v, ok := lookup(doc, field); ok {
			preview := fmt.Sprint(v)
			if b, err := json.Marshal(v); err == nil {
				preview = strings.Trim(string(b), `"`)
			}
			fail(400, errCause("mapper_parsing_exception",
				fmt.Sprintf("failed to parse field [%s] of type [long] in document with id '%s'. Preview of field's value: '%s'", field, meta.ID, preview),
				"caused_by", errCause("illegal_argument_exception", fmt.Sprintf("For input string: %q", preview))))
			return
		}
	}
	if meta.ID == "" {
		s.autoID++
		meta.ID = fmt.Sprintf("auto%016x", s.autoID*0x9E3779B97F4A7C15)
		res["_id"] = meta.ID
	}
	d := ix.docs[meta.ID]
	if d != nil && op == "create" {
		fail(409, errCause("version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", meta.ID, d.Version)))
		return
	}
	for _, add := range adds {
		add()
	}
	s.seqNo++
	stored := append(json.RawMessage(nil), src...)
	if d == nil {
		d = &Doc{ID: meta.ID}
		ix.docs[meta.ID] = d
		ix.order = append(ix.order, meta.ID)
		res["result"], res["status"] = "created", 201
	} else {
		res["result"], res["status"] = "updated", 200
	}
	d.Version++
	d.Source, d.SeqNo = stored, s.seqNo
	res["_version"], res["_shards"], res["_seq_no"], res["_primary_term"] = d.Version, shards(1), s.seqNo, 1
}

// lookup finds a dotted path in a document, through nested objects or
// dotted keys.
func lookup(doc map[string]any, field string) (any, bool) {
	if v, ok := doc[field]; ok {
		return v, true
	}
	for i := 0; i < len(field); i++ {
		if field[i] != '.' {
			continue
		}
		if sub, ok := doc[field[:i]].(map[string]any); ok {
			if v, ok := lookup(sub, field[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// filterPath applies OpenSearch's filter_path to a JSON answer: a comma
// list of dotted paths where * matches one key and ** any number.
func filterPath(body []byte, spec string) []byte {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return body
	}
	var paths [][]string
	for _, p := range strings.Split(spec, ",") {
		if p = strings.TrimSpace(p); p != "" && !strings.HasPrefix(p, "-") {
			paths = append(paths, strings.Split(p, "."))
		}
	}
	if len(paths) == 0 {
		return body
	}
	out, ok := filterValue(v, paths)
	if !ok {
		return []byte("{}")
	}
	b, err := json.Marshal(out)
	if err != nil {
		return body
	}
	return b
}

func filterValue(v any, paths [][]string) (any, bool) {
	for _, p := range paths {
		if len(p) == 0 {
			return v, true
		}
	}
	switch x := v.(type) {
	case []any:
		var out []any
		for _, e := range x {
			if f, ok := filterValue(e, paths); ok {
				out = append(out, f)
			}
		}
		return out, len(out) > 0
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			var sub [][]string
			for _, p := range paths {
				switch {
				case p[0] == "**":
					sub = append(sub, p)
					if len(p) > 1 && matchKey(p[1], k) {
						sub = append(sub, p[2:])
					}
				case matchKey(p[0], k):
					sub = append(sub, p[1:])
				}
			}
			if len(sub) == 0 {
				continue
			}
			if f, ok := filterValue(e, sub); ok {
				out[k] = f
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

func matchKey(pat, k string) bool {
	if pat == "*" || pat == k {
		return true
	}
	if strings.Contains(pat, "*") {
		pre, post, _ := strings.Cut(pat, "*")
		return strings.HasPrefix(k, pre) && strings.HasSuffix(k, post) && len(k) >= len(pre)+len(post)
	}
	return false
}

// atoiDefault parses a query number.
func atoiDefault(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}
