package normalize

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestOverlayPathCache runs random sequences of overlay operations, over
// records that start from a template as Normalize's do, on two overlays:
// one answering paths from its cache, one always walking. Every answer and
// the final shape of every record must be the same.
func TestOverlayPathCache(t *testing.T) {
	paths := []string{"a", "a.b", "a.c", "a.b.x", "source", "source.ip", "source.port",
		"destination", "destination.ip", "event.category", "rule.name", "n"}
	var tmpl []onode
	{
		var o Overlay
		o.Reset()
		for _, p := range []string{"a.b", "source.ip", "destination.ip", "rule.name"} {
			o.SetString(p, "t")
		}
		tmpl = o.template()
	}
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var cached, walked Overlay
		for rec := range 4 {
			if rec == 2 && rng.IntN(2) == 0 { // a grown template
				tmpl = append([]onode(nil), tmpl...)
			}
			cached.resetFrom(tmpl)
			walked.resetFrom(tmpl)
			for step := range 12 {
				p, q := paths[rng.IntN(len(paths))], paths[rng.IntN(len(paths))]
				op := rng.IntN(6)
				for _, o := range []*Overlay{&cached, &walked} {
					if o == &walked {
						o.reshape() // never use the cache
					}
					switch op {
					case 0, 1:
						o.SetString(p, fmt.Sprint(step))
					case 2:
						o.Delete(p)
					case 3:
						if lastSegment(p) != p && lastSegment(q) != q && p[:len(p)-len(lastSegment(p))] == q[:len(q)-len(lastSegment(q))] && p != q {
							o.Swap(p, q)
						}
					case 4:
						o.SetInt(p, int64(step))
					}
				}
				for _, path := range paths {
					if c, w := string(cached.Raw(path)), string(walked.Raw(path)); c != w || cached.Has(path) != walked.Has(path) {
						t.Fatalf("seed %d record %d step %d op %d %q %q: %s: cached %q %v, walked %q %v",
							seed, rec, step, op, p, q, path, c, cached.Has(path), w, walked.Has(path))
					}
				}
			}
			if c, w := shape(&cached), shape(&walked); c != w {
				t.Fatalf("seed %d record %d: shapes differ:\n%s\n%s", seed, rec, c, w)
			}
		}
	}
}

// shape prints the present, live part of an overlay.
func shape(o *Overlay) string {
	var walk func(n int32) string
	walk = func(n int32) string {
		nd := &o.nodes[n]
		if nd.val != noNode {
			return string(o.buf[nd.val:nd.end])
		}
		s := "{"
		for c := nd.first; c != noNode; c = o.nodes[c].next {
			if cn := &o.nodes[c]; cn.present {
				s += fmt.Sprintf("%s%v:%s,", cn.key, cn.deleted, walk(c))
			}
		}
		return s + "}"
	}
	return walk(0)
}
