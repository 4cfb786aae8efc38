package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// remoteStore answers searches through a running vigil serve's HTTP API
// (docs/api.md), for commands started while the server holds the store.
// Only Search and Aggregate are supported.
type remoteStore struct {
	base  string
	token string
	basic string // USER:PASSWORD, sent when there is no token
	http  *http.Client
}

func newRemoteStore(base, token string) *remoteStore {
	return &remoteStore{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: time.Minute}}
}

// remoteFromEnv is newRemoteStore with the credentials of the environment:
// $VIGIL_AUTH_TOKEN, or else $VIGIL_BASIC_AUTH.
func remoteFromEnv(base string) *remoteStore {
	r := newRemoteStore(base, os.Getenv(envAuthToken))
	r.basic = os.Getenv(envBasicAuth)
	return r
}

var errRemote = errors.New("not available through a running vigil serve; stop it first")

// The variables that hold the credentials commands send to a running vigil
// serve: its --auth-token, or its --basic-auth USER:PASSWORD.
const (
	envAuthToken = "VIGIL_AUTH_TOKEN"
	envBasicAuth = "VIGIL_BASIC_AUTH"
)

// openReader opens the store in dataDir for reading. When a running vigil
// serve holds it, the reads go through that server's API instead,
// authenticated with $VIGIL_AUTH_TOKEN or $VIGIL_BASIC_AUTH. serveURL, when set, names the
// server to read through without opening the store.
func openReader(ctx context.Context, dataDir, serveURL string, logger *slog.Logger) (store.Store, error) {
	if serveURL != "" {
		if !strings.Contains(serveURL, "://") {
			serveURL = "http://" + serveURL
		}
		return remoteFromEnv(serveURL), nil
	}
	st, err := openStore(ctx, dataDir, true, "", logger)
	if errors.Is(err, store.ErrLocked) {
		if _, _, addr, ok := storeHolder(dataDir); ok && addr != "" {
			return remoteFromEnv(addr), nil
		}
	}
	return st, err
}

// post sends a JSON request to the API and decodes the answer into out.
func (r *remoteStore) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	} else if user, pass, ok := strings.Cut(r.basic, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("asking the running vigil serve at %s: %w", r.base, err)
	}
	defer func() { _ = resp.Body.Close() }() // read fully below
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return fmt.Errorf("reading the answer of %s%s: %w", r.base, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = fmt.Sprintf(" (set %s to the server's --auth-token, or %s to its --basic-auth)", envAuthToken, envBasicAuth)
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s%s: %s%s", r.base, path, e.Error, hint)
		}
		return fmt.Errorf("%s%s: HTTP %d%s", r.base, path, resp.StatusCode, hint)
	}
	return json.Unmarshal(data, out)
}

// filterParams is the API's form of a store.Filter.
func filterParams(f store.Filter) map[string]any {
	m := map[string]any{"query": f.Query}
	if f.From != 0 {
		m["from"] = strconv.FormatInt(f.From, 10)
	}
	if f.To != 0 {
		m["to"] = strconv.FormatInt(f.To, 10)
	}
	if len(f.LogTypes) > 0 {
		m["log_type"] = f.LogTypes
	}
	return m
}

func (r *remoteStore) Search(ctx context.Context, req store.SearchRequest) (*store.SearchResult, error) {
	p := filterParams(req.Filter)
	if req.Sort != "" {
		p["sort"] = req.Sort
	}
	if req.Asc {
		p["order"] = "asc"
	}
	p["offset"] = req.Offset
	if req.Limit > 0 {
		p["size"] = req.Limit
	}
	var res store.SearchResult
	if err := r.post(ctx, "/api/search", p, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (r *remoteStore) Aggregate(ctx context.Context, req store.AggRequest) (*store.AggResult, error) {
	if req.Kind != store.AggCount {
		return nil, fmt.Errorf("aggregation %s: %w", req.Kind, errRemote)
	}
	p := filterParams(req.Filter)
	p["kind"] = string(req.Kind)
	var res store.AggResult
	if err := r.post(ctx, "/api/aggregate", p, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (r *remoteStore) Write(context.Context, []store.Doc) error {
	return fmt.Errorf("writing: %w", errRemote)
}

func (r *remoteStore) Get(context.Context, string) (*store.Hit, error) {
	return nil, fmt.Errorf("get: %w", errRemote)
}

func (r *remoteStore) Fields(context.Context, string) ([]store.Field, error) {
	return nil, fmt.Errorf("fields: %w", errRemote)
}

func (r *remoteStore) Indices(context.Context) ([]store.IndexInfo, error) {
	return nil, fmt.Errorf("indices: %w", errRemote)
}

func (r *remoteStore) DeleteBefore(context.Context, string, time.Time) (int64, error) {
	return 0, fmt.Errorf("deleting: %w", errRemote)
}

func (r *remoteStore) Close() error { return nil }
