package opensearchtest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proxy sits between a client and a real cluster and injects the same
// faults as Server: resets before or after forwarding, whole-request 429
// and 503, latency, and per-item 429/503 (the cluster applied those items;
// the client is told to send them again, as after a lost answer). It lets
// fault tests run against a real cluster. Basic auth passes through; SigV4
// signatures do not survive the change of host.
type Proxy struct {
	target string
	seed   uint64
	hs     *httptest.Server
	client *http.Client

	mu     sync.Mutex
	faults Faults
	seq    uint64
	log    []Request
}

// NewProxy starts a proxy to target (a base URL) and stops it when the
// test ends. tc (may be nil) is the TLS configuration for an https target.
func NewProxy(t testing.TB, target string, seed uint64, f Faults, tc *tls.Config) *Proxy {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tc != nil {
		tr.TLSClientConfig = tc
	}
	p := &Proxy{target: strings.TrimRight(target, "/"), seed: seed, faults: f, client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
	p.hs = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.hs.Close()
		tr.CloseIdleConnections()
	})
	return p
}

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return p.hs.URL }

// SetFaults replaces the injected faults.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
}

// Requests returns the request log (bodies as sent, maybe compressed).
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

func (p *Proxy) chance(kind string, n uint64, rate float64) bool {
	return chance(p.seed, kind, n, rate)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		resetConn(w)
		return
	}
	p.mu.Lock()
	f := p.faults
	p.seq++
	n := p.seq
	p.log = append(p.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body,
		Gzip: strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip")})
	p.mu.Unlock()
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	faulty := r.URL.Path != "/" && len(f.FaultPaths) == 0
	for _, fp := range f.FaultPaths {
		if strings.Contains(r.URL.Path, fp) {
			faulty = true
		}
	}
	if faulty {
		switch {
		case p.chance("reset", n, f.ResetRate):
			resetConn(w)
			return
		case p.chance("503", n, f.Status503Rate):
			writeJSON(w, 503, errBody(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];"))
			return
		case p.chance("429", n, f.Status429Rate):
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
			}
			writeJSON(w, 429, errBody(429, "rejected_execution_exception", "rejected execution of coordinating operation"))
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		writeJSON(w, 502, map[string]any{"error": err.Error()})
		return
	}
	for k, vs := range r.Header {
		if k == "Accept-Encoding" || k == "Connection" {
			continue
		}
		req.Header[k] = vs
	}
	res, err := p.client.Do(req)
	if err != nil {
		resetConn(w)
		return
	}
	out, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		resetConn(w)
		return
	}
	if faulty && res.StatusCode < 300 && (Request{Method: r.Method, Path: r.URL.Path}).Write() && p.chance("reset-after", n, f.ResetAfterRate) {
		resetConn(w)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/_bulk") && res.StatusCode == 200 && (f.Item429Rate > 0 || f.Item503Rate > 0) {
		out = p.failItems(out, n, f)
	}
	for k, vs := range res.Header {
		if k == "Content-Length" || k == "Content-Encoding" {
			continue
		}
		w.Header()[k] = vs
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(out)
}

// failItems rewrites some items of a bulk answer as 429 or 503.
func (p *Proxy) failItems(body []byte, n uint64, f Faults) []byte {
	var ans map[string]json.RawMessage
	if json.Unmarshal(body, &ans) != nil {
		return body
	}
	var items []map[string]map[string]any
	if json.Unmarshal(ans["items"], &items) != nil {
		return body
	}
	changed := false
	for i, it := range items {
		for _, res := range it {
			k := fmt.Sprintf("%d/%d", n, i)
			switch {
			case p.chance("item429\x00"+k, 1, f.Item429Rate):
				res["status"] = 429
				res["error"] = errCause("rejected_execution_exception", "rejected execution of primary operation")
				changed = true
			case p.chance("item503\x00"+k, 1, f.Item503Rate):
				res["status"] = 503
				res["error"] = errCause("unavailable_shards_exception", "primary shard is not active")
				changed = true
			}
		}
	}
	if !changed {
		return body
	}
	ans["errors"] = json.RawMessage("true")
	b, err := json.Marshal(items)
	if err != nil {
		return body
	}
	ans["items"] = b
	out, err := json.Marshal(ans)
	if err != nil {
		return body
	}
	return out
}

// chance reports whether the event numbered n of kind happens at rate, for
// a seed: a hash, so the same seed and order fail the same way.
func chance(seed uint64, kind string, n uint64, rate float64) bool {
	if rate <= 0 {
		return false
	}
	if rate >= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(kind))
	x := mix(h.Sum64() ^ mix(seed) ^ mix(n+0x632BE59BD9B4E019))
	return float64(x>>11)/(1<<53) < rate
}
