package opensearchtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// templateAPI serves /_index_template and /_component_template. s.mu is
// held.
func (s *Server) templateAPI(w *recorder, m string, segs []string, body []byte, q url.Values, store map[string]json.RawMessage, one, many string) bool {
	kind := strings.ReplaceAll(one, "_", " ")
	switch {
	case len(segs) == 1 && m == http.MethodGet:
		w.json(200, map[string]any{many: s.listTemplates(store, "*", one)})
		return true
	case len(segs) != 2:
		return false
	}
	name := segs[1]
	switch m {
	case http.MethodGet, http.MethodHead:
		list := s.listTemplates(store, name, one)
		if len(list) == 0 {
			if m == http.MethodHead {
				w.status = 404
				return true
			}
			w.json(404, errBody(404, "resource_not_found_exception", kind+" matching ["+name+"] not found"))
			return true
		}
		if m == http.MethodHead {
			w.status = 200
			return true
		}
		w.json(200, map[string]any{many: list})
	case http.MethodPut, http.MethodPost:
		if validIndexName(name) != "" && strings.ContainsAny(name, ` ,"*\/<>|?#`) {
			w.json(400, errBody(400, "invalid_index_template_exception", one+" ["+name+"] invalid, cause [name must not contain a space, comma, or any of "+`["*\<|,>/?]`+"]"))
			return true
		}
		var t templateBody
		if err := json.Unmarshal(body, &t); err != nil {
			w.json(400, errBody(400, "x_content_parse_exception", "[1:1] ["+one+"] failed to parse: "+err.Error()))
			return true
		}
		if _, ok := store[name]; ok && (m == http.MethodPut || m == http.MethodPost) && q.Get("create") == "true" {
			w.json(400, errBody(400, "illegal_argument_exception", kind+" ["+name+"] already exists"))
			return true
		}
		if one == "index_template" {
			if len(t.IndexPatterns) == 0 {
				w.json(400, errBody(400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;"))
				return true
			}
			var missing []string
			for _, c := range t.ComposedOf {
				if _, ok := s.components[c]; !ok {
					missing = append(missing, c)
				}
			}
			if len(missing) > 0 {
				w.json(400, errBody(400, "invalid_index_template_exception",
					fmt.Sprintf("index_template [%s] invalid, cause [index template [%s] specifies component templates %v that do not exist]", name, name, missing)))
				return true
			}
			for other, raw := range s.templates {
				if other == name {
					continue
				}
				var ot templateBody
				if json.Unmarshal(raw, &ot) != nil || ot.Priority != t.Priority {
					continue
				}
				for _, p := range t.IndexPatterns {
					for _, op := range ot.IndexPatterns {
						if p == op {
							w.json(400, errBody(400, "illegal_argument_exception",
								fmt.Sprintf("index template [%s] has index patterns %v matching patterns from existing templates [%s] with patterns (%s => %v) that have the same priority [%d], multiple index templates may not match during index creation, please use a different priority",
									name, t.IndexPatterns, other, other, ot.IndexPatterns, t.Priority)))
							return true
						}
					}
				}
			}
		}
		store[name] = compact(body)
		w.json(200, map[string]any{"acknowledged": true})
	case http.MethodDelete:
		names := matchNames(store, name)
		if len(names) == 0 {
			w.json(404, errBody(404, "resource_not_found_exception", kind+" matching ["+name+"] not found"))
			return true
		}
		if one == "component_template" {
			for _, c := range names {
				var users []string
				for tn, raw := range s.templates {
					var t templateBody
					if json.Unmarshal(raw, &t) == nil {
						for _, x := range t.ComposedOf {
							if x == c {
								users = append(users, tn)
							}
						}
					}
				}
				if len(users) > 0 {
					sort.Strings(users)
					w.json(400, errBody(400, "illegal_argument_exception",
						fmt.Sprintf("component templates [%s] cannot be removed as they are still in use by index templates [%s]", c, strings.Join(users, ", "))))
					return true
				}
			}
		}
		for _, n := range names {
			delete(store, n)
		}
		w.json(200, map[string]any{"acknowledged": true})
	default:
		return false
	}
	return true
}

func (s *Server) listTemplates(store map[string]json.RawMessage, pattern, one string) []any {
	out := []any{}
	for _, n := range matchNames(store, pattern) {
		out = append(out, map[string]any{"name": n, one: store[n]})
	}
	return out
}

// matchNames returns the keys matching a comma list of names or wildcards,
// sorted.
func matchNames[V any](store map[string]V, expr string) []string {
	var out []string
	for n := range store {
		for _, p := range strings.Split(expr, ",") {
			if ok, _ := path.Match(p, n); ok || p == n {
				out = append(out, n)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return append(json.RawMessage(nil), b...)
	}
	return buf.Bytes()
}

// ism serves /_plugins/_ism/... s.mu is held.
func (s *Server) ism(w *recorder, m string, segs []string, body []byte, q url.Values) bool {
	if len(segs) == 0 {
		return false
	}
	switch segs[0] {
	case "policies":
		if len(segs) == 1 && m == http.MethodGet {
			list := []any{}
			for _, id := range matchNames(s.policies, "*") {
				p := s.policies[id]
				list = append(list, map[string]any{"_id": id, "_seq_no": p.seqNo, "_primary_term": p.primaryTerm, "policy": p.body})
			}
			w.json(200, map[string]any{"policies": list, "total_policies": len(list)})
			return true
		}
		if len(segs) != 2 {
			return false
		}
		id := segs[1]
		p := s.policies[id]
		switch m {
		case http.MethodGet, http.MethodHead:
			if p == nil {
				w.json(404, errBody(404, "status_exception", "Policy not found"))
				return true
			}
			w.json(200, map[string]any{"_id": id, "_version": p.version, "_seq_no": p.seqNo, "_primary_term": p.primaryTerm, "policy": p.body})
		case http.MethodPut:
			var in struct {
				Policy map[string]any `json:"policy"`
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&in); err != nil || in.Policy == nil {
				w.json(400, errBody(400, "illegal_argument_exception", "Required [policy]"))
				return true
			}
			ifSeq, hasSeq := q["if_seq_no"]
			ifTerm, hasTerm := q["if_primary_term"]
			if p != nil && (!hasSeq || !hasTerm) {
				w.json(409, errBody(409, "version_conflict_engine_exception",
					fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", id, p.version),
					"index", ".opendistro-ism-config", "shard", "0"))
				return true
			}
			if hasSeq || hasTerm {
				seq, _ := strconv.ParseInt(first(ifSeq), 10, 64)
				term, _ := strconv.ParseInt(first(ifTerm), 10, 64)
				if p == nil {
					w.json(409, errBody(409, "version_conflict_engine_exception",
						fmt.Sprintf("[%s]: version conflict, required seqNo [%d], primary term [%d]. but no document was found", id, seq, term),
						"index", ".opendistro-ism-config", "shard", "0"))
					return true
				}
				if seq != p.seqNo || term != p.primaryTerm {
					w.json(409, errBody(409, "version_conflict_engine_exception",
						fmt.Sprintf("[%s]: version conflict, required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [%d]", id, seq, term, p.seqNo, p.primaryTerm),
						"index", ".opendistro-ism-config", "shard", "0"))
					return true
				}
			}
			pol := in.Policy
			pol["policy_id"] = id
			pol["last_updated_time"] = time.Now().UnixMilli()
			if _, ok := pol["schema_version"]; !ok {
				pol["schema_version"] = 21
			}
			for _, k := range []string{"error_notification", "ism_template"} {
				if _, ok := pol[k]; !ok {
					pol[k] = nil
				}
			}
			b, _ := json.Marshal(pol)
			s.seqNo++
			status := 201
			if p == nil {
				p = &policy{primaryTerm: 1}
				s.policies[id] = p
			} else {
				status = 200
			}
			p.version++
			p.seqNo, p.body = s.seqNo, b
			w.json(status, map[string]any{"_id": id, "_version": p.version, "_primary_term": p.primaryTerm, "_seq_no": p.seqNo,
				"policy": map[string]any{"policy": json.RawMessage(b)}})
		case http.MethodDelete:
			s.seqNo++
			if p == nil {
				w.json(404, map[string]any{"_index": ".opendistro-ism-config", "_id": id, "_version": 1, "result": "not_found",
					"forced_refresh": true, "_shards": shards(1), "_seq_no": s.seqNo, "_primary_term": 1})
				return true
			}
			delete(s.policies, id)
			w.json(200, map[string]any{"_index": ".opendistro-ism-config", "_id": id, "_version": p.version + 1, "result": "deleted",
				"forced_refresh": true, "_shards": shards(1), "_seq_no": s.seqNo, "_primary_term": 1})
		default:
			return false
		}
		return true
	case "add", "remove", "change_policy":
		if len(segs) != 2 || m != http.MethodPost {
			return false
		}
		var in struct {
			PolicyID string `json:"policy_id"`
		}
		_ = json.Unmarshal(body, &in)
		if segs[0] == "add" {
			if _, ok := s.policies[in.PolicyID]; !ok {
				w.json(404, errBody(404, "index_management_exception", "Could not find policy=["+in.PolicyID+"]"))
				return true
			}
		}
		ixs, _ := s.resolveLocked(segs[1], true)
		failed := []any{}
		n := 0
		for _, ix := range ixs {
			switch segs[0] {
			case "add":
				if ix.policyID != "" {
					failed = append(failed, map[string]any{"index_name": ix.name, "index_uuid": ix.uuid, "reason": "This index already has a policy, use the update policy API to update index policies"})
					continue
				}
				ix.policyID = in.PolicyID
			case "remove":
				if ix.policyID == "" {
					continue
				}
				ix.policyID = ""
			case "change_policy":
				ix.policyID = in.PolicyID
			}
			n++
		}
		w.json(200, map[string]any{"updated_indices": n, "failures": len(failed) > 0, "failed_indices": failed})
		return true
	case "explain":
		if len(segs) != 2 || m != http.MethodGet {
			return false
		}
		ixs, _ := s.resolveLocked(segs[1], true)
		out := map[string]any{}
		managed := 0
		for _, ix := range ixs {
			e := map[string]any{"index.plugins.index_state_management.policy_id": nilIfEmpty(ix.policyID),
				"index.opendistro.index_state_management.policy_id": nilIfEmpty(ix.policyID)}
			if ix.policyID != "" {
				managed++
				e["index"], e["index_uuid"], e["policy_id"], e["enabled"] = ix.name, ix.uuid, ix.policyID, true
			}
			out[ix.name] = e
		}
		out["total_managed_indices"] = managed
		w.json(200, out)
		return true
	}
	return false
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// attachISMLocked gives a new index the policy whose ism_template matches
// its name (highest priority wins), as the ISM plugin does.
func (s *Server) attachISMLocked(ix *index) {
	best, bestPrio := "", -1
	for id, p := range s.policies {
		var pol struct {
			ISMTemplate json.RawMessage `json:"ism_template"`
		}
		if json.Unmarshal(p.body, &pol) != nil || len(pol.ISMTemplate) == 0 || string(pol.ISMTemplate) == "null" {
			continue
		}
		type tmpl struct {
			IndexPatterns []string `json:"index_patterns"`
			Priority      int      `json:"priority"`
		}
		var list []tmpl
		if json.Unmarshal(pol.ISMTemplate, &list) != nil {
			var one tmpl
			if json.Unmarshal(pol.ISMTemplate, &one) != nil {
				continue
			}
			list = []tmpl{one}
		}
		for _, t := range list {
			for _, pat := range t.IndexPatterns {
				if ok, _ := path.Match(pat, ix.name); ok && t.Priority > bestPrio {
					best, bestPrio = id, t.Priority
				}
			}
		}
	}
	ix.policyID = best
}

// aliasActions serves POST /_aliases. s.mu is held.
func (s *Server) aliasActions(w *recorder, body []byte) {
	var in struct {
		Actions []map[string]struct {
			Index        string   `json:"index"`
			Indices      []string `json:"indices"`
			Alias        string   `json:"alias"`
			Aliases      []string `json:"aliases"`
			IsWriteIndex *bool    `json:"is_write_index"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Actions) == 0 {
		w.json(400, errBody(400, "action_request_validation_exception", "Validation Failed: 1: No action specified;"))
		return
	}
	type step struct {
		op      string
		ix      *index
		alias   string
		isWrite *bool
	}
	var steps []step
	for _, a := range in.Actions {
		for op, spec := range a {
			names := spec.Indices
			if spec.Index != "" {
				names = append(names, spec.Index)
			}
			aliases := spec.Aliases
			if spec.Alias != "" {
				aliases = append(aliases, spec.Alias)
			}
			if op != "add" && op != "remove" && op != "remove_index" {
				w.json(400, errBody(400, "illegal_argument_exception", "Unsupported action ["+op+"]"))
				return
			}
			for _, n := range names {
				ixs, err := s.resolveLocked(n, false)
				if err != nil {
					w.json(404, err)
					return
				}
				for _, ix := range ixs {
					if op == "remove_index" {
						steps = append(steps, step{op: op, ix: ix})
						continue
					}
					for _, al := range aliases {
						if s.indices[al] != nil {
							w.json(400, errBody(400, "invalid_alias_name_exception", "Invalid alias name ["+al+"]: an index or data stream exists with the same name as the alias"))
							return
						}
						if op == "remove" {
							if _, ok := ix.aliases[al]; !ok {
								w.json(404, errBody(404, "aliases_not_found_exception", "aliases ["+al+"] missing", "resource.type", "aliases", "resource.id", al))
								return
							}
						}
						steps = append(steps, step{op: op, ix: ix, alias: al, isWrite: spec.IsWriteIndex})
					}
				}
			}
		}
	}
	for _, st := range steps {
		switch st.op {
		case "add":
			st.ix.aliases[st.alias] = aliasMeta{IsWriteIndex: st.isWrite}
		case "remove":
			delete(st.ix.aliases, st.alias)
		case "remove_index":
			delete(s.indices, st.ix.name)
		}
	}
	if msg := s.checkWriteIndexesLocked(); msg != "" {
		w.json(400, errBody(400, "illegal_state_exception", msg))
		return
	}
	w.json(200, map[string]any{"acknowledged": true})
}

// checkWriteIndexesLocked reports an alias with more than one write index.
func (s *Server) checkWriteIndexesLocked() string {
	writes := map[string][]string{}
	for _, ix := range s.indices {
		for a, m := range ix.aliases {
			if m.IsWriteIndex != nil && *m.IsWriteIndex {
				writes[a] = append(writes[a], ix.name)
			}
		}
	}
	for a, ixs := range writes {
		if len(ixs) > 1 {
			sort.Strings(ixs)
			return fmt.Sprintf("alias [%s] has more than one write index [%s]", a, strings.Join(ixs, ","))
		}
	}
	return ""
}

// getAliases serves GET /_alias[/name] and GET /{index}/_alias[/name].
func (s *Server) getAliases(w *recorder, indexExpr, name string) {
	ixs := []*index{}
	if indexExpr == "" {
		for _, ix := range s.indices {
			ixs = append(ixs, ix)
		}
	} else {
		var err map[string]any
		if ixs, err = s.resolveLocked(indexExpr, false); err != nil {
			w.json(404, err)
			return
		}
	}
	out := map[string]any{}
	found := false
	for _, ix := range ixs {
		als := map[string]any{}
		for a, m := range ix.aliases {
			if name == "" || matchAlias(name, a) {
				als[a] = m
				found = true
			}
		}
		if name == "" || len(als) > 0 {
			out[ix.name] = map[string]any{"aliases": als}
		}
	}
	if name != "" && !found {
		w.json(404, map[string]any{"error": "alias [" + name + "] missing", "status": 404})
		return
	}
	w.json(200, out)
}

func matchAlias(expr, a string) bool {
	for _, p := range strings.Split(expr, ",") {
		if ok, _ := path.Match(p, a); ok || p == a || p == "_all" {
			return true
		}
	}
	return false
}

// cat serves /_cat/indices and /_cat/aliases.
func (s *Server) cat(w *recorder, what string, rest []string, q url.Values) bool {
	expr := "*"
	if len(rest) > 0 {
		expr = rest[0]
	}
	switch what {
	case "indices":
		ixs, err := s.resolveLocked(expr, false)
		if err != nil {
			w.json(404, err)
			return true
		}
		rows := []map[string]any{}
		for _, ix := range ixs {
			status := "open"
			if ix.closed {
				status = "close"
			}
			size := 0
			for _, d := range ix.docs {
				size += len(d.Source)
			}
			rows = append(rows, map[string]any{
				"health": "green", "status": status, "index": ix.name, "uuid": ix.uuid, "pri": "1", "rep": "1",
				"docs.count": strconv.Itoa(len(ix.docs)), "docs.deleted": "0",
				"store.size": strconv.Itoa(size) + "b", "pri.store.size": strconv.Itoa(size) + "b",
			})
		}
		w.catRows(q, rows, []string{"health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size", "pri.store.size"})
		return true
	case "aliases":
		rows := []map[string]any{}
		for _, ix := range s.sortedIndicesLocked() {
			var names []string
			for a := range ix.aliases {
				if expr == "*" || matchAlias(expr, a) {
					names = append(names, a)
				}
			}
			sort.Strings(names)
			for _, a := range names {
				wi := "-"
				if m := ix.aliases[a].IsWriteIndex; m != nil {
					wi = strconv.FormatBool(*m)
				}
				rows = append(rows, map[string]any{"alias": a, "index": ix.name, "filter": "-", "routing.index": "-", "routing.search": "-", "is_write_index": wi})
			}
		}
		w.catRows(q, rows, []string{"alias", "index", "filter", "routing.index", "routing.search", "is_write_index"})
		return true
	}
	return false
}

// catRows answers JSON with format=json, else a text table (with a header
// line when v is set).
func (w *recorder) catRows(q url.Values, rows []map[string]any, cols []string) {
	if q.Get("format") == "json" {
		w.json(200, rows)
		return
	}
	if h := q.Get("h"); h != "" {
		cols = strings.Split(h, ",")
	}
	var b strings.Builder
	if q.Has("v") {
		b.WriteString(strings.Join(cols, " "))
		b.WriteByte('\n')
	}
	for _, r := range rows {
		for i, c := range cols {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprint(&b, r[c])
		}
		b.WriteByte('\n')
	}
	w.text(200, b.String())
}

func (s *Server) sortedIndicesLocked() []*index {
	out := make([]*index, 0, len(s.indices))
	for _, ix := range s.indices {
		out = append(out, ix)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// blockIDs are OpenSearch's index block ids and descriptions.
var blockIDs = map[string][2]string{
	"read_only":              {"5", "index read-only (api)"},
	"read":                   {"7", "index read (api)"},
	"write":                  {"8", "index write (api)"},
	"metadata":               {"9", "index metadata (api)"},
	"read_only_allow_delete": {"12", "disk usage exceeded flood-stage watermark, index has read-only-allow-delete block"},
}

// cluster serves GET /_cluster/state[/blocks] and /_cluster/health.
func (s *Server) cluster(w *recorder, segs []string) bool {
	switch segs[0] {
	case "health":
		w.json(200, map[string]any{"cluster_name": "opensearchtest", "status": "green", "timed_out": false,
			"number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": len(s.indices), "active_shards": len(s.indices)})
		return true
	case "state":
		blocks := map[string]any{}
		for _, ix := range s.sortedIndicesLocked() {
			b := map[string]any{}
			if ix.closed {
				b["4"] = map[string]any{"description": "index closed", "retryable": false, "levels": []string{"read", "write"}}
			}
			for name, on := range ix.blocks {
				if on {
					id := blockIDs[name]
					b[id[0]] = map[string]any{"description": id[1], "retryable": false, "levels": []string{"write", "metadata_write"}}
				}
			}
			if len(b) > 0 {
				blocks[ix.name] = b
			}
		}
		out := map[string]any{"cluster_name": "opensearchtest", "cluster_uuid": "opensearchtest-uuid", "blocks": map[string]any{}}
		if len(blocks) > 0 {
			out["blocks"] = map[string]any{"indices": blocks}
		}
		w.json(200, out)
		return true
	}
	return false
}

var rolloverName = regexp.MustCompile(`^(.*-)(\d+)$`)

// indexAPI serves /{index}[/...]. s.mu is held.
func (s *Server) indexAPI(w *recorder, m string, segs []string, body []byte, q url.Values) bool {
	name := segs[0]
	if len(segs) == 1 {
		switch m {
		case http.MethodPut, http.MethodPost:
			if m == http.MethodPost {
				return false
			}
			if why := validIndexName(name); why != "" {
				w.json(400, errBody(400, "invalid_index_name_exception", "Invalid index name ["+name+"], "+why, "index", name, "index_uuid", "_na_"))
				return true
			}
			if ix := s.indices[name]; ix != nil {
				w.json(400, errBody(400, "resource_already_exists_exception", "index ["+name+"/"+ix.uuid+"] already exists", "index", name, "index_uuid", ix.uuid))
				return true
			}
			for _, ix := range s.indices {
				if _, ok := ix.aliases[name]; ok {
					w.json(400, errBody(400, "invalid_index_name_exception", "Invalid index name ["+name+"], already exists as alias", "index", name, "index_uuid", "_na_"))
					return true
				}
			}
			var in struct {
				Settings map[string]any       `json:"settings"`
				Mappings json.RawMessage      `json:"mappings"`
				Aliases  map[string]aliasMeta `json:"aliases"`
			}
			if len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, &in); err != nil {
					w.json(400, errBody(400, "parse_exception", "Failed to parse content to map: "+err.Error()))
					return true
				}
			}
			ix := s.newIndexLocked(name)
			flatten("index", in.Settings, ix.settings)
			ix.syncBlocks()
			ix.mapping.merge(in.Mappings)
			for a, meta := range in.Aliases {
				ix.aliases[a] = meta
			}
			if msg := s.checkWriteIndexesLocked(); msg != "" {
				delete(s.indices, name)
				w.json(400, errBody(400, "illegal_state_exception", msg))
				return true
			}
			w.json(200, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
		case http.MethodHead:
			ixs, _ := s.resolveLocked(name, true)
			w.status = 404
			if len(ixs) > 0 {
				w.status = 200
			}
		case http.MethodGet:
			ixs, err := s.resolveLocked(name, false)
			if err != nil {
				w.json(404, err)
				return true
			}
			out := map[string]any{}
			for _, ix := range ixs {
				out[ix.name] = map[string]any{"aliases": ix.aliases, "mappings": ix.mapping.render(), "settings": nestSettings(ix.flatSettings())}
			}
			w.json(200, out)
		case http.MethodDelete:
			if !strings.ContainsAny(name, "*?,") && s.indices[name] == nil {
				for _, ix := range s.indices {
					if _, ok := ix.aliases[name]; ok {
						w.json(400, errBody(400, "illegal_argument_exception", "The provided expression ["+name+"] matches an alias, specify the corresponding concrete indices instead."))
						return true
					}
				}
			}
			var del []*index
			for _, part := range strings.Split(name, ",") {
				if strings.ContainsAny(part, "*?") || part == "_all" {
					p := part
					if p == "_all" {
						p = "*"
					}
					for _, ix := range s.indices {
						if ok, _ := path.Match(p, ix.name); ok {
							del = append(del, ix)
						}
					}
					continue
				}
				ix := s.indices[part]
				if ix == nil {
					w.json(404, errBody(404, "index_not_found_exception", "no such index ["+part+"]", "index", part, "resource.type", "index_or_alias", "resource.id", part, "index_uuid", "_na_"))
					return true
				}
				del = append(del, ix)
			}
			for _, ix := range del {
				delete(s.indices, ix.name)
			}
			w.json(200, map[string]any{"acknowledged": true})
		default:
			return false
		}
		return true
	}
	switch segs[1] {
	case "_settings":
		ixs, err := s.resolveLocked(name, false)
		if err != nil {
			w.json(404, err)
			return true
		}
		switch m {
		case http.MethodGet:
			out := map[string]any{}
			for _, ix := range ixs {
				if q.Get("flat_settings") == "true" {
					out[ix.name] = map[string]any{"settings": ix.flatSettings()}
				} else {
					out[ix.name] = map[string]any{"settings": nestSettings(ix.flatSettings())}
				}
			}
			w.json(200, out)
		case http.MethodPut:
			var in map[string]any
			if err := json.Unmarshal(body, &in); err != nil {
				w.json(400, errBody(400, "parse_exception", "Failed to parse content to map: "+err.Error()))
				return true
			}
			for _, ix := range ixs {
				flatten("index", in, ix.settings)
				ix.syncBlocks()
			}
			w.json(200, map[string]any{"acknowledged": true})
		default:
			return false
		}
		return true
	case "_mapping", "_mappings":
		ixs, err := s.resolveLocked(name, false)
		if err != nil {
			w.json(404, err)
			return true
		}
		switch m {
		case http.MethodGet:
			out := map[string]any{}
			for _, ix := range ixs {
				out[ix.name] = map[string]any{"mappings": ix.mapping.render()}
			}
			w.json(200, out)
		case http.MethodPut, http.MethodPost:
			if !json.Valid(body) {
				w.json(400, errBody(400, "parse_exception", "Failed to parse content to map"))
				return true
			}
			for _, ix := range ixs {
				ix.mapping.merge(body)
			}
			w.json(200, map[string]any{"acknowledged": true})
		default:
			return false
		}
		return true
	case "_block":
		if len(segs) != 3 || m != http.MethodPut {
			return false
		}
		if _, ok := blockIDs[segs[2]]; !ok {
			w.json(400, errBody(400, "illegal_argument_exception", "No index block for ["+segs[2]+"]"))
			return true
		}
		ixs, err := s.resolveLocked(name, false)
		if err != nil {
			w.json(404, err)
			return true
		}
		list := []any{}
		for _, ix := range ixs {
			ix.blocks[segs[2]] = true
			list = append(list, map[string]any{"name": ix.name, "blocked": true})
		}
		w.json(200, map[string]any{"acknowledged": true, "shards_acknowledged": true, "indices": list})
		return true
	case "_close", "_open":
		if m != http.MethodPost {
			return false
		}
		ixs, err := s.resolveLocked(name, false)
		if err != nil {
			w.json(404, err)
			return true
		}
		for _, ix := range ixs {
			ix.closed = segs[1] == "_close"
		}
		w.json(200, map[string]any{"acknowledged": true, "shards_acknowledged": true})
		return true
	case "_alias", "_aliases":
		alias := ""
		if len(segs) > 2 {
			alias = segs[2]
		}
		switch m {
		case http.MethodGet, http.MethodHead:
			s.getAliases(w, name, alias)
			if m == http.MethodHead {
				w.body = nil
			}
		case http.MethodPut, http.MethodPost:
			var meta aliasMeta
			_ = json.Unmarshal(body, &meta)
			ixs, err := s.resolveLocked(name, false)
			if err != nil {
				w.json(404, err)
				return true
			}
			if alias == "" || s.indices[alias] != nil {
				w.json(400, errBody(400, "invalid_alias_name_exception", "Invalid alias name ["+alias+"]: an index or data stream exists with the same name as the alias"))
				return true
			}
			for _, ix := range ixs {
				ix.aliases[alias] = meta
			}
			if msg := s.checkWriteIndexesLocked(); msg != "" {
				for _, ix := range ixs {
					delete(ix.aliases, alias)
				}
				w.json(400, errBody(400, "illegal_state_exception", msg))
				return true
			}
			w.json(200, map[string]any{"acknowledged": true})
		case http.MethodDelete:
			ixs, err := s.resolveLocked(name, false)
			if err != nil {
				w.json(404, err)
				return true
			}
			n := 0
			for _, ix := range ixs {
				if _, ok := ix.aliases[alias]; ok {
					delete(ix.aliases, alias)
					n++
				}
			}
			if n == 0 {
				w.json(404, errBody(404, "aliases_not_found_exception", "aliases ["+alias+"] missing", "resource.type", "aliases", "resource.id", alias))
				return true
			}
			w.json(200, map[string]any{"acknowledged": true})
		default:
			return false
		}
		return true
	case "_refresh", "_flush":
		if _, err := s.resolveLocked(name, false); err != nil {
			w.json(404, err)
			return true
		}
		w.json(200, map[string]any{"_shards": shards(1)})
		return true
	case "_count", "_search":
		ixs, err := s.resolveLocked(name, false)
		if err != nil {
			w.json(404, err)
			return true
		}
		s.search(w, segs[1], ixs, body, q)
		return true
	case "_doc", "_create":
		return s.docAPI(w, m, segs, body)
	case "_rollover":
		if m != http.MethodPost {
			return false
		}
		s.rollover(w, name, segs[2:])
		return true
	}
	return false
}

// search serves _count and a simple _search: match_all or ids queries,
// hits ordered by index then first write, with size and from.
func (s *Server) search(w *recorder, what string, ixs []*index, body []byte, q url.Values) {
	var in struct {
		Size   *int            `json:"size"`
		From   int             `json:"from"`
		Query  json.RawMessage `json:"query"`
		Source json.RawMessage `json:"_source"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			w.json(400, errBody(400, "parsing_exception", "request body is not valid JSON: "+err.Error()))
			return
		}
	}
	var ids map[string]bool
	if len(in.Query) > 0 {
		var qq struct {
			MatchAll *json.RawMessage `json:"match_all"`
			IDs      *struct {
				Values []string `json:"values"`
			} `json:"ids"`
		}
		if err := json.Unmarshal(in.Query, &qq); err != nil || (qq.MatchAll == nil && qq.IDs == nil) {
			w.json(400, errBody(400, "parsing_exception", "opensearchtest supports only match_all and ids queries"))
			return
		}
		if qq.IDs != nil {
			ids = map[string]bool{}
			for _, id := range qq.IDs.Values {
				ids[id] = true
			}
		}
	}
	type hit struct {
		ix *index
		d  *Doc
	}
	var hits []hit
	for _, ix := range ixs {
		for _, id := range ix.order {
			if ids == nil || ids[id] {
				hits = append(hits, hit{ix, ix.docs[id]})
			}
		}
	}
	if what == "_count" {
		w.json(200, map[string]any{"count": len(hits), "_shards": map[string]any{"total": len(ixs), "successful": len(ixs), "skipped": 0, "failed": 0}})
		return
	}
	size := 10
	if in.Size != nil {
		size = *in.Size
	}
	size = atoiDefault(q.Get("size"), size)
	from := atoiDefault(q.Get("from"), in.From)
	total := len(hits)
	if from > len(hits) {
		from = len(hits)
	}
	hits = hits[from:]
	if size < len(hits) {
		hits = hits[:size]
	}
	noSource := string(in.Source) == "false"
	out := make([]any, 0, len(hits))
	for _, h := range hits {
		e := map[string]any{"_index": h.ix.name, "_id": h.d.ID, "_score": 1.0}
		if !noSource {
			e["_source"] = h.d.Source
		}
		out = append(out, e)
	}
	w.json(200, map[string]any{"took": 1, "timed_out": false,
		"_shards": map[string]any{"total": len(ixs), "successful": len(ixs), "skipped": 0, "failed": 0},
		"hits":    map[string]any{"total": map[string]any{"value": total, "relation": "eq"}, "max_score": 1.0, "hits": out}})
}

// docAPI serves /{index}/_doc/{id} and /{index}/_create/{id}.
func (s *Server) docAPI(w *recorder, m string, segs []string, body []byte) bool {
	if len(segs) != 3 {
		return false
	}
	name, id := segs[0], segs[2]
	switch m {
	case http.MethodGet, http.MethodHead:
		ix, _ := s.writeIndexLocked(name)
		var d *Doc
		if ix != nil {
			d = ix.docs[id]
		}
		if d == nil {
			w.json(404, map[string]any{"_index": name, "_id": id, "found": false})
			return true
		}
		w.json(200, map[string]any{"_index": ix.name, "_id": id, "_version": d.Version, "_seq_no": d.SeqNo, "_primary_term": 1, "found": true, "_source": d.Source})
	case http.MethodPut, http.MethodPost, http.MethodDelete:
		op := "index"
		if segs[1] == "_create" {
			op = "create"
		}
		if m == http.MethodDelete {
			op = "delete"
		}
		res := map[string]any{"_index": name, "_id": id}
		var failStatus int
		var failCause map[string]any
		s.applyItem(op, &bulkAction{Index: name, ID: id}, bytes.TrimSpace(body), res, func(st int, c map[string]any) {
			failStatus, failCause = st, c
		})
		if failStatus != 0 {
			b := errBody(failStatus, failCause["type"].(string), failCause["reason"].(string))
			w.json(failStatus, b)
			return true
		}
		st := res["status"].(int)
		delete(res, "status")
		w.json(st, res)
	default:
		return false
	}
	return true
}

// rollover serves POST /{alias}/_rollover[/{new_index}].
func (s *Server) rollover(w *recorder, alias string, rest []string) {
	old, aerr := s.writeIndexLocked(alias)
	if aerr != nil || old == nil || s.indices[alias] != nil {
		w.json(400, errBody(400, "illegal_argument_exception", "rollover target ["+alias+"] does not point to a write index"))
		return
	}
	newName := ""
	if len(rest) > 0 {
		newName = rest[0]
	} else {
		mm := rolloverName.FindStringSubmatch(old.name)
		if mm == nil {
			w.json(400, errBody(400, "illegal_argument_exception", "index name ["+old.name+"] does not match pattern '^.*-\\d+$'"))
			return
		}
		n, _ := strconv.Atoi(mm[2])
		newName = fmt.Sprintf("%s%06d", mm[1], n+1)
	}
	if s.indices[newName] != nil {
		w.json(400, errBody(400, "resource_already_exists_exception", "index ["+newName+"/"+s.indices[newName].uuid+"] already exists"))
		return
	}
	explicit := old.aliases[alias].IsWriteIndex != nil
	ix := s.newIndexLocked(newName)
	t := true
	if explicit {
		f := false
		old.aliases[alias] = aliasMeta{IsWriteIndex: &f}
		ix.aliases[alias] = aliasMeta{IsWriteIndex: &t}
	} else {
		delete(old.aliases, alias)
		ix.aliases[alias] = aliasMeta{}
	}
	w.json(200, map[string]any{"acknowledged": true, "shards_acknowledged": true, "old_index": old.name, "new_index": newName,
		"rolled_over": true, "dry_run": false, "conditions": map[string]any{}})
}
