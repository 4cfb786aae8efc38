package sigma

import (
	"strings"
	"time"
)

// Event is a document the engine evaluates rules on. The engine reads it
// only through these two methods, so a document needs no decoding into Go
// maps: MapEvent serves decoded maps, JSONEvent reads raw JSON bytes.
//
// Values are in the domain encoding/json produces with UseNumber: string,
// json.Number (the number's text), bool, nil (JSON null), []any and
// map[string]any. Other Go numbers (float64, int, ...) are accepted too and
// compare by their shortest decimal form. Implementations must give the
// same answers for the same JSON document; the engine's matching semantics
// (numbers and booleans equal their string forms, arrays match any element,
// objects compare as their JSON text) are applied to these values.
//
// Ownership: strings in returned values may view memory of the event; they
// are valid until the event changes (for JSONEvent: until Reset). The
// engine never retains them past a Match or Process call (the Correlator
// copies what it keeps). The engine calls an Event from one goroutine at a
// time; an Event need not be safe for concurrent use.
type Event interface {
	// Field returns the value at p and whether the field is present (a
	// JSON null is present, with a nil value). The walk follows
	// Path.Lookup's rules: nested objects by the path's parts, literal keys
	// containing dots at any level, and arrays on the way mapped over
	// (yielding a []any of the elements' values).
	Field(p *Path) (any, bool)
	// Scalars calls fn with every scalar value of the event (strings,
	// numbers, booleans; not nulls, not containers), at any depth, in any
	// order, until fn returns true; it reports whether fn did. Keyword
	// (full-text) searches use it. A key that occurs twice in one object
	// counts once, with its last value (as encoding/json decodes it).
	Scalars(fn func(v any) bool) bool
}

// MapEvent is an Event over a decoded JSON object (encoding/json, with or
// without UseNumber). Converting a map to MapEvent costs nothing.
type MapEvent map[string]any

// Field implements Event.
func (m MapEvent) Field(p *Path) (any, bool) { return p.Lookup(m) }

// Scalars implements Event.
func (m MapEvent) Scalars(fn func(any) bool) bool { return anyLeaf(map[string]any(m), fn) }

// Path is a dotted field name split once (at compile time): the key an
// Event looks a field up by. Create it with NewPath; it is immutable.
//
// Lookup rules: the parts are followed through nested objects; at every
// level a literal key that itself contains dots ("a.b" as one key) is
// tried when the nested walk finds nothing; arrays met on the way are
// mapped over, so `a.b` on {"a":[{"b":1},{"b":2}]} yields [1, 2].
type Path struct {
	id     int // slot in evalCtx's cache; -1 when not interned
	name   string
	parts  []string
	joined [][]string // joined[i][j-i-1] = parts[i..j] joined with "."
}

// NewPath splits a dotted field name.
func NewPath(name string) *Path {
	p := &Path{id: -1, name: name, parts: strings.Split(name, ".")}
	n := len(p.parts)
	if n > 1 {
		p.joined = make([][]string, n)
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				p.joined[i] = append(p.joined[i], strings.Join(p.parts[i:j+1], "."))
			}
		}
	}
	return p
}

// Name returns the dotted name.
func (p *Path) Name() string { return p.name }

// Parts returns the name split at its dots; the caller must not modify it.
func (p *Path) Parts() []string { return p.parts }

// Key returns parts i through j (inclusive) joined with dots, without
// allocating: the literal key an Event tries for that stretch of the path.
func (p *Path) Key(i, j int) string {
	if i == j {
		return p.parts[i]
	}
	return p.joined[i][j-i-1]
}

// Lookup returns the value at the path in a decoded object and whether the
// field is present (a JSON null is present with a nil value).
func (p *Path) Lookup(m map[string]any) (any, bool) {
	return p.walk(m, 0)
}

func (p *Path) walk(m map[string]any, i int) (any, bool) {
	last := len(p.parts) - 1
	if v, ok := m[p.parts[i]]; ok {
		if i == last {
			return v, true
		}
		if r, ok := p.descend(v, i+1); ok {
			return r, true
		}
	}
	if i < last {
		for k, key := range p.joined[i] {
			j := i + 1 + k
			if v, ok := m[key]; ok {
				if j == last {
					return v, true
				}
				if r, ok := p.descend(v, j+1); ok {
					return r, true
				}
			}
		}
	}
	return nil, false
}

// descend continues the walk at part i inside v.
func (p *Path) descend(v any, i int) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return p.walk(x, i)
	case []any:
		var out []any
		for _, e := range x {
			if r, ok := p.descend(e, i); ok {
				out = append(out, r)
			}
		}
		if out != nil {
			return out, true
		}
	}
	return nil, false
}

// EventTime reads a timestamp field of ev (RFC 3339 and close variants, or
// epoch seconds, or milliseconds when larger than 1e12), for the event
// time Correlator.ProcessEvent needs. An array yields its first element
// that is a timestamp.
func EventTime(ev Event, p *Path) (time.Time, bool) {
	v, ok := ev.Field(p)
	if !ok || v == nil {
		return time.Time{}, false
	}
	var t time.Time
	found := anyElem(v, func(e any) bool {
		var ok bool
		t, ok = valueTime(e)
		return ok
	})
	return t, found
}
