package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
)

// Kinds of saved objects in reports.
const (
	KindIndexPattern  Kind = "index pattern"
	KindVisualization Kind = "visualization"
	KindDashboard     Kind = "dashboard"
)

// Dashboards API paths.
const (
	bulkGetPath = "/api/saved_objects/_bulk_get"
	importPath  = "/api/saved_objects/_import?overwrite=true"
)

// xsrfHeader is required by Dashboards on every API request that is not a
// GET.
func xsrfHeader() http.Header {
	return http.Header{"Osd-Xsrf": []string{"true"}}
}

func savedKind(typ string) Kind {
	switch typ {
	case "index-pattern":
		return KindIndexPattern
	case "visualization":
		return KindVisualization
	case "dashboard":
		return KindDashboard
	}
	return Kind(typ)
}

// installedObject is one answer of _bulk_get.
type installedObject struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Attributes map[string]any `json:"attributes"`
	References []Reference    `json:"references"`
	Error      *struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
	} `json:"error"`
}

// savedObjects installs the saved objects: one _bulk_get reads them all,
// one import writes those that are missing or differ.
func (r *run) savedObjects(ctx context.Context, objs []SavedObject) {
	failAll := func(err error) {
		for _, o := range objs {
			r.fail(savedKind(o.Type), o.Title(), err)
		}
	}
	installed, err := r.bulkGet(ctx, objs)
	if err != nil {
		failAll(fmt.Errorf("reading the saved objects from OpenSearch Dashboards: %w", err))
		return
	}
	outcomes := make([]Outcome, len(objs))
	var changed []SavedObject
	for i, o := range objs {
		got, ok := installed[o.Type+"/"+o.ID]
		switch {
		case !ok || got.Error != nil:
			outcomes[i] = Created
		case sameSaved(o, got):
			outcomes[i] = UpToDate
			continue
		default:
			outcomes[i] = Updated
		}
		changed = append(changed, o)
	}
	failed := map[string]string{}
	if len(changed) > 0 && !r.in.DryRun {
		failed, err = r.importObjects(ctx, changed)
		if err != nil {
			for i, o := range objs {
				if outcomes[i] != UpToDate {
					r.fail(savedKind(o.Type), o.Title(), err)
				} else {
					r.report(savedKind(o.Type), o.Title(), UpToDate, "")
				}
			}
			return
		}
	}
	for i, o := range objs {
		if reason, bad := failed[o.Type+"/"+o.ID]; bad {
			r.fail(savedKind(o.Type), o.Title(), fmt.Errorf("import refused it: %s", reason))
			continue
		}
		r.report(savedKind(o.Type), o.Title(), outcomes[i], "")
	}
}

// bulkGet reads the installed versions of objs, keyed by "type/id".
func (r *run) bulkGet(ctx context.Context, objs []SavedObject) (map[string]installedObject, error) {
	req := make([]map[string]string, len(objs))
	for i, o := range objs {
		req[i] = map[string]string{"type": o.Type, "id": o.ID}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the _bulk_get request: %w", err)
	}
	hdr := xsrfHeader()
	hdr.Set("Content-Type", "application/json")
	res, err := r.in.Dashboards.Do(ctx, http.MethodPost, bulkGetPath, bytes.NewReader(b), hdr)
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	var ans struct {
		SavedObjects []installedObject `json:"saved_objects"`
	}
	if err := json.Unmarshal(res.Body, &ans); err != nil {
		return nil, fmt.Errorf("decoding the answer of POST %s: %w", bulkGetPath, err)
	}
	out := make(map[string]installedObject, len(ans.SavedObjects))
	for _, o := range ans.SavedObjects {
		out[o.Type+"/"+o.ID] = o
	}
	return out, nil
}

// importObjects sends objs to the import API (overwriting) and returns the
// objects it refused, keyed by "type/id", with the reason.
func (r *run) importObjects(ctx context.Context, objs []SavedObject) (map[string]string, error) {
	nd, err := NDJSON(objs)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="vigil-dashboards.ndjson"`)
	h.Set("Content-Type", "application/ndjson")
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, fmt.Errorf("building the import request: %w", err)
	}
	if _, err := part.Write(nd); err != nil {
		return nil, fmt.Errorf("building the import request: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("building the import request: %w", err)
	}
	hdr := xsrfHeader()
	hdr.Set("Content-Type", mw.FormDataContentType())
	r.sum.Writes++
	res, err := r.in.Dashboards.Do(ctx, http.MethodPost, importPath, &body, hdr)
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	var ans struct {
		Success bool `json:"success"`
		Errors  []struct {
			ID    string         `json:"id"`
			Type  string         `json:"type"`
			Error map[string]any `json:"error"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(res.Body, &ans); err != nil {
		return nil, fmt.Errorf("decoding the answer of POST %s: %w", pathOnly(importPath), err)
	}
	failed := map[string]string{}
	for _, e := range ans.Errors {
		b, _ := json.Marshal(e.Error)
		failed[e.Type+"/"+e.ID] = string(b)
	}
	if !ans.Success && len(failed) == 0 {
		return nil, fmt.Errorf("POST %s: the import did not succeed and named no object", pathOnly(importPath))
	}
	return failed, nil
}

// sameSaved reports whether an installed saved object holds the desired
// attributes and references.
func sameSaved(o SavedObject, got installedObject) bool {
	want, err := roundTrip(o.Attributes)
	if err != nil {
		return false
	}
	return contains(want, any(got.Attributes)) && sameReferences(o.References, got.References)
}

// sameReferences compares two reference lists as sets.
func sameReferences(a, b []Reference) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(rs []Reference) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.Name + "\x00" + r.Type + "\x00" + r.ID
		}
		sort.Strings(out)
		return out
	}
	return strings.Join(key(a), "\x01") == strings.Join(key(b), "\x01")
}
