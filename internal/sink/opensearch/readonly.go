package opensearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vigil-siem/vigil/internal/opensearch"
)

// readOnly knows the indices that take no writes and where their documents
// go instead. It is safe for concurrent use.
type readOnly struct {
	any   atomic.Bool
	mu    sync.RWMutex
	set   map[string]bool
	cache map[string]string
}

func newReadOnly() *readOnly {
	return &readOnly{set: map[string]bool{}, cache: map[string]string{}}
}

// suffixed matches a name that already carries a two-digit suffix.
var suffixed = regexp.MustCompile(`^(.*)_([0-9]{2})$`)

// writable returns the index to write instead of name: name itself when it
// takes writes, else "<name>_01", or the next free two-digit suffix, as
// es-loader does ("<base>_NN" continues from NN).
func (r *readOnly) writable(name string) string {
	if !r.any.Load() {
		return name
	}
	r.mu.RLock()
	w, ok := r.cache[name]
	r.mu.RUnlock()
	if ok {
		return w
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w = name
	if r.set[name] {
		base, n := name, 1
		if m := suffixed.FindStringSubmatch(name); m != nil {
			base = m[1]
			n, _ = strconv.Atoi(m[2])
		}
		for {
			w = fmt.Sprintf("%s_%02d", base, n)
			if !r.set[w] {
				break
			}
			n++
		}
	}
	r.cache[name] = w
	return w
}

// mark records that name takes no writes.
func (r *readOnly) mark(names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		r.set[n] = true
	}
	clear(r.cache)
	r.any.Store(len(r.set) > 0)
}

// list returns the read-only indices, sorted.
func (r *readOnly) list() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.set))
	for n := range r.set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// discover reads the indices with a block (read-only, write, closed) from
// the cluster state and, on Amazon OpenSearch Service, the cold indices,
// as es-loader does at start. A cluster that refuses the question (no
// permission) is logged and the sink goes on; later blocks are learnt from
// the bulk answers. An unreachable cluster or rejected credentials fail.
func (r *readOnly) discover(ctx context.Context, c bulkAPI, cold bool, log *slog.Logger) error {
	res, err := c.Do(ctx, http.MethodGet, "/_cluster/state/blocks", nil, nil)
	if err != nil {
		return fmt.Errorf("opensearch sink: reaching the cluster: %w", err)
	}
	var found []string
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("opensearch sink: %w", res.Err())
	case res.StatusCode >= 300:
		log.Warn("cannot read index blocks; read-only indices are found on the first refused write", slog.Any("error", res.Err()))
	default:
		var st struct {
			Blocks struct {
				Indices map[string]json.RawMessage `json:"indices"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(res.Body, &st); err != nil {
			return fmt.Errorf("opensearch sink: reading the cluster's index blocks: %w", err)
		}
		for n := range st.Blocks.Indices {
			found = append(found, n)
		}
	}
	if cold {
		found = append(found, coldIndices(ctx, c, log)...)
	}
	if len(found) > 0 {
		r.mark(found...)
		log.Info("read-only indices", slog.Any("indices", r.list()))
	}
	return nil
}

// coldIndices lists UltraWarm cold indices (Amazon OpenSearch Service),
// following pagination. Errors end the list: a domain without cold storage
// answers with an error.
func coldIndices(ctx context.Context, c bulkAPI, log *slog.Logger) []string {
	var out []string
	res, err := c.Do(ctx, http.MethodGet, "/_cold/indices/_search?page_size=2000", nil, nil)
	for range 1000 {
		if err != nil || res.StatusCode != http.StatusOK {
			if err != nil {
				log.Debug("no cold indices", slog.Any("error", err))
			}
			return out
		}
		var page struct {
			Indices []struct {
				Index string `json:"index"`
			} `json:"indices"`
			PaginationID string `json:"pagination_id"`
		}
		if json.Unmarshal(res.Body, &page) != nil || len(page.Indices) == 0 {
			return out
		}
		for _, ix := range page.Indices {
			out = append(out, ix.Index)
		}
		if page.PaginationID == "" {
			return out
		}
		body, _ := json.Marshal(map[string]string{"pagination_id": page.PaginationID})
		res, err = c.Do(ctx, http.MethodPost, "/_cold/indices/_search", strings.NewReader(string(body)), nil)
	}
	return out
}

// bootstrapAliases creates each missing write alias on "<alias>-000001",
// as es-loader does for index_rotation = auto.
func bootstrapAliases(ctx context.Context, c bulkAPI, aliases []string, log *slog.Logger) error {
	res, err := c.Do(ctx, http.MethodGet, "/_cat/aliases?format=json&h=alias", nil, nil)
	if err != nil {
		return fmt.Errorf("opensearch sink: listing aliases: %w", err)
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("opensearch sink: listing aliases: %w", err)
	}
	var rows []struct {
		Alias string `json:"alias"`
	}
	if err := json.Unmarshal(res.Body, &rows); err != nil {
		return fmt.Errorf("opensearch sink: reading the alias list: %w", err)
	}
	have := map[string]bool{}
	for _, r := range rows {
		have[r.Alias] = true
	}
	for _, a := range aliases {
		if have[a] {
			continue
		}
		body, _ := json.Marshal(map[string]any{"aliases": map[string]any{a: map[string]any{"is_write_index": true}}})
		res, err := c.Do(ctx, http.MethodPut, "/"+a+"-000001", strings.NewReader(string(body)), nil)
		if err != nil {
			return fmt.Errorf("opensearch sink: creating write alias %s: %w", a, err)
		}
		err = res.Err()
		var se *opensearch.StatusError
		switch {
		case err == nil:
			log.Info("created write alias", slog.String("alias", a), slog.String("index", a+"-000001"))
		case errors.As(err, &se) && se.Type == "resource_already_exists_exception":
		case errors.As(err, &se) && se.StatusCode == http.StatusBadRequest:
			// An index with the alias's name (auto-created by an earlier
			// write) is in the way: writes go to that index.
			log.Warn("cannot create write alias", slog.String("alias", a), slog.Any("error", err))
		default:
			return fmt.Errorf("opensearch sink: creating write alias %s: %w", a, err)
		}
	}
	return nil
}

// idSet remembers the most recent ids delivered (by hash), for a
// Serverless time-series collection where the cluster cannot de-duplicate.
// It is safe for concurrent use.
type idSet struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[uint64]struct{}
	ring []uint64
	next int
}

func newIDSet(n int) *idSet {
	return &idSet{seed: maphash.MakeSeed(), m: make(map[uint64]struct{}, n), ring: make([]uint64, 0, n)}
}

func (s *idSet) has(id string) bool {
	if id == "" {
		return false
	}
	h := maphash.String(s.seed, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[h]
	return ok
}

func (s *idSet) add(id string) {
	if id == "" {
		return
	}
	h := maphash.String(s.seed, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[h]; ok {
		return
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, h)
	} else {
		delete(s.m, s.ring[s.next])
		s.ring[s.next] = h
		s.next = (s.next + 1) % len(s.ring)
	}
	s.m[h] = struct{}{}
}
