package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// assetFS holds the console: index.html, app.js, style.css and the vendored
// libraries with their licenses.
//
//go:embed assets
var assetFS embed.FS

// asset is one console file ready to serve.
type asset struct {
	body        []byte
	gz          []byte // gzip of body; nil when compressing does not pay
	etag        string
	contentType string
}

// assetSet maps a path under assets/ ("app.js") to its file.
type assetSet struct {
	files map[string]*asset
}

// loadAssets reads every embedded file once, with its ETag and, for text
// files, a gzip copy, so serving costs no CPU per request.
func loadAssets() (*assetSet, error) {
	set := &assetSet{files: map[string]*asset{}}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, contentType: contentTypeOf(p)}
		if compressible(a.contentType) && len(body) > 512 {
			var buf bytes.Buffer
			zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			if err != nil {
				return fmt.Errorf("compressing %s: %w", p, err)
			}
			if _, err := zw.Write(body); err != nil {
				return fmt.Errorf("compressing %s: %w", p, err)
			}
			if err := zw.Close(); err != nil {
				return fmt.Errorf("compressing %s: %w", p, err)
			}
			if buf.Len() < len(body)*9/10 {
				a.gz = buf.Bytes()
			}
		}
		set.files[strings.TrimPrefix(p, "assets/")] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if set.files["index.html"] == nil {
		return nil, fmt.Errorf("the embedded console has no index.html")
	}
	return set, nil
}

// contentTypeOf picks the Content-Type of a console file from its name.
func contentTypeOf(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".md", ".txt", "":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// compressible says whether gzip helps a file of this type.
func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.HasPrefix(contentType, "application/json") ||
		strings.HasPrefix(contentType, "image/svg")
}

// serve writes the file, honouring If-None-Match and Accept-Encoding. The
// console revalidates every file (no-cache), so an upgraded binary is
// picked up at once while unchanged files cost a 304.
func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Add("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the client went away; nothing to do
	}
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (named
// with a non-zero q, or covered by "*").
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "gzip") && name != "*" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// handleIndex serves the console's single page.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.assets.files["index.html"].serve(w, r)
}

// handleAsset serves one console file.
func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	a := s.assets.files[r.PathValue("path")]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	a.serve(w, r)
}

// handleFavicon serves the console's icon where browsers look for it.
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	if a := s.assets.files["icon.svg"]; a != nil {
		a.serve(w, r)
		return
	}
	http.NotFound(w, r)
}
