package sigma

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// corrFeed routes a match of a rule (or correlation) into one input of a
// correlation.
type corrFeed struct{ corr, input int }

type compiledCorr struct {
	rule       *Rule
	c          *Correlation
	idx        int
	span       int64
	inputs     []corrInput
	standalone bool
	feeds      []corrFeed
	// atClose: the condition can become false again as events arrive (lt,
	// lte, eq, neq on counts), so it is decided when the window closes.
	atClose bool
	// monotone: once satisfied, more events keep it satisfied.
	monotone bool
}

type corrInput struct {
	ref     string
	groupBy []*Path
	fields  []*Path
}

type ruleRef struct {
	corr bool
	idx  int
}

func (e *Engine) compileCorrelations(corrRules []*Rule) []error {
	var errs []error
	byRef := map[string]ruleRef{}
	for _, cr := range e.rules {
		for _, k := range []string{cr.rule.ID, cr.rule.Name} {
			if k != "" {
				byRef[k] = ruleRef{idx: cr.idx}
			}
		}
	}
	pending := corrRules
	failed := map[*Rule]error{}
	for progress := true; progress && len(pending) > 0; {
		progress = false
		var next []*Rule
		for _, r := range pending {
			ready := true
			for _, ref := range r.Correlation.Rules {
				if _, ok := byRef[ref]; !ok {
					ready = false
					break
				}
			}
			if !ready {
				next = append(next, r)
				continue
			}
			cc, err := e.compileCorr(r, byRef)
			if err != nil {
				failed[r] = err
				continue
			}
			progress = true
			cc.idx = len(e.corrs)
			e.corrs = append(e.corrs, cc)
			for _, k := range []string{r.ID, r.Name} {
				if k != "" {
					byRef[k] = ruleRef{corr: true, idx: cc.idx}
				}
			}
		}
		pending = next
	}
	for _, r := range pending {
		var missing []string
		for _, ref := range r.Correlation.Rules {
			if _, ok := byRef[ref]; !ok {
				missing = append(missing, ref)
			}
		}
		errs = append(errs, ruleErr(r.File, r.Correlation.Line, r.Ref(),
			"correlation references unknown, invalid or cyclic rules: %s", strings.Join(missing, ", ")))
	}
	for r, err := range failed {
		errs = append(errs, ruleErr(r.File, r.Correlation.Line, r.Ref(), "%w", err))
	}
	// Feeds and standalone flags.
	detRefd, detGen := make([]bool, len(e.rules)), make([]bool, len(e.rules))
	corrRefd, corrGen := make([]bool, len(e.corrs)), make([]bool, len(e.corrs))
	for _, cc := range e.corrs {
		for i, ref := range cc.c.Rules {
			rr := byRef[ref]
			if rr.corr {
				e.corrs[rr.idx].feeds = append(e.corrs[rr.idx].feeds, corrFeed{corr: cc.idx, input: i})
				corrRefd[rr.idx] = true
				corrGen[rr.idx] = corrGen[rr.idx] || cc.c.Generate
			} else {
				e.rules[rr.idx].feeds = append(e.rules[rr.idx].feeds, corrFeed{corr: cc.idx, input: i})
				detRefd[rr.idx] = true
				detGen[rr.idx] = detGen[rr.idx] || cc.c.Generate
			}
		}
	}
	for i, cr := range e.rules {
		cr.standalone = !detRefd[i] || detGen[i]
	}
	for i, cc := range e.corrs {
		cc.standalone = !corrRefd[i] || corrGen[i]
	}
	sort.Slice(errs, func(a, b int) bool { return errs[a].Error() < errs[b].Error() })
	return errs
}

func (e *Engine) compileCorr(r *Rule, byRef map[string]ruleRef) (*compiledCorr, error) {
	c := r.Correlation
	cc := &compiledCorr{rule: r, c: c, span: int64(c.Timespan), monotone: true}
	for _, th := range c.Condition {
		if th.Op != "gt" && th.Op != "gte" {
			cc.monotone = false
		}
	}
	switch c.Type {
	case ValueAvg, ValuePercentile:
		cc.monotone = false
	default:
		cc.atClose = !cc.monotone
	}
	if c.Type == TemporalOrdered {
		cc.monotone, cc.atClose = true, false
	}
	if len(c.Rules) > 64 {
		return nil, fmt.Errorf("correlation references %d rules; at most 64 are supported", len(c.Rules))
	}
	for _, ref := range c.Rules {
		rr := byRef[ref]
		name := ""
		if rr.corr {
			name = e.corrs[rr.idx].rule.Name
		} else {
			name = e.rules[rr.idx].rule.Name
		}
		in := corrInput{ref: ref}
		for _, g := range c.GroupBy {
			field := g
			if al, ok := c.Aliases[g]; ok {
				if f, ok := al[ref]; ok {
					field = f
				} else if f, ok := al[name]; ok && name != "" {
					field = f
				}
			}
			in.groupBy = append(in.groupBy, NewPath(field))
		}
		for _, f := range c.Field {
			in.fields = append(in.fields, NewPath(f))
		}
		cc.inputs = append(cc.inputs, in)
	}
	return cc, nil
}

// CorrelationMatch is one correlation rule matching a window of events.
type CorrelationMatch struct {
	// ID is deterministic: derived from the rule id, the group key and the
	// window start, so processing the same events again yields the same id
	// (callers deduplicate by it).
	ID     string
	RuleID string
	Title  string
	Level  string
	Tags   []string
	Type   CorrelationType
	// GroupBy holds the group-by values of the window.
	GroupBy map[string]string
	// WindowStart is the time of the earliest event of the window;
	// WindowEnd is WindowStart plus the timespan.
	WindowStart time.Time
	WindowEnd   time.Time
	// Time is the event time at which the condition became true.
	Time time.Time
	// Value is the aggregate the condition tested: the event count,
	// distinct value count, sum, average, percentage, or number of
	// distinct rules (temporal types).
	Value float64
	// Count is the number of events in the window that were evaluated.
	Count int
	// Refs are the CorrelatorConfig.RefField values of those events (at
	// most CorrelatorConfig.MaxRefs).
	Refs []string
	Rule *Rule
}

// CorrelatorConfig bounds the state of a Correlator.
type CorrelatorConfig struct {
	// MaxGroups caps the open groups per correlation rule; when a new
	// group would exceed it, the least recently updated group is evicted.
	// Default 10000.
	MaxGroups int
	// MaxEventsPerGroup caps the events kept per group (the oldest are
	// dropped). Default 1000.
	MaxEventsPerGroup int
	// RefField names an event field (e.g. "eventID") whose value is kept
	// with each event and reported in CorrelationMatch.Refs. Empty keeps
	// none.
	RefField string
	// MaxRefs caps CorrelationMatch.Refs. Default 50.
	MaxRefs int
	// KeepBehind keeps groups whose newest event is far behind the newest
	// event of their correlation (only MaxGroups evicts them). A run that
	// reads several objects at once sets it: one object's events, hours
	// ahead of another's, say nothing about how far that other has got.
	KeepBehind bool
}

// Correlator evaluates the Engine's rules on a stream of events and keeps
// the state of its correlation rules: sliding windows on event time, one
// per group-by key and correlation rule.
//
// Memory: an open group costs about 300 bytes plus 80 bytes per event it
// holds (plus the lengths of its group-by values, value_count values and
// refs); a correlation holds at most MaxGroups groups of at most
// MaxEventsPerGroup events, and a group is dropped once its newest event is
// two timespans older than the newest event seen by its correlation (unless
// KeepBehind is set).
//
// Windows: a window is [start, start+timespan] where start is the time of
// an event of the group. Events may arrive out of order: an event up to one
// timespan older than the newest event of its group is placed by its event
// time and counted in every window it falls in; older events are dropped.
// A group fires at most once per window, and windows that fired do not
// overlap, so a burst raises one match. Conditions that can only grow (gt,
// gte, temporal, temporal_ordered) fire as soon as they hold; those that
// can shrink again (lt, lte, eq, neq on counts) are decided when the
// window closes, i.e. when the group sees an event past the window's end or
// Flush is called with a later time. value_avg and value_percentile are
// evaluated at every event over the window ending at it.
//
// A Correlator is not safe for concurrent use: one goroutine owns it.
type Correlator struct {
	e    *Engine
	cfg  CorrelatorConfig
	st   []*corrState
	seq  uint64
	refs *Path
}

type corrState struct {
	groups map[string]*group
	lru    *list.List // of *group, front = most recently updated
	maxT   int64
}

type group struct {
	Key     string   `json:"k"`
	Values  []string `json:"v"`
	Entries []entry  `json:"e"`
	Fired   []window `json:"f,omitempty"`
	MaxT    int64    `json:"t"`
	Closed  int64    `json:"c"`
	elem    *list.Element
}

type entry struct {
	T   int64   `json:"t"`
	Seq uint64  `json:"s"`
	In  int     `json:"i,omitempty"`
	V   string  `json:"v,omitempty"`
	N   float64 `json:"n,omitempty"`
	Ref string  `json:"r,omitempty"`
}

type window struct {
	S int64 `json:"s"`
	E int64 `json:"e"`
}

// NewCorrelator returns a Correlator with empty state.
func (e *Engine) NewCorrelator(cfg CorrelatorConfig) *Correlator {
	if cfg.MaxGroups <= 0 {
		cfg.MaxGroups = 10000
	}
	if cfg.MaxEventsPerGroup <= 0 {
		cfg.MaxEventsPerGroup = 1000
	}
	if cfg.MaxRefs <= 0 {
		cfg.MaxRefs = 50
	}
	c := &Correlator{e: e, cfg: cfg}
	if cfg.RefField != "" {
		c.refs = NewPath(cfg.RefField)
	}
	c.reset()
	return c
}

func (c *Correlator) reset() {
	c.st = make([]*corrState, len(c.e.corrs))
	for i := range c.st {
		c.st[i] = &corrState{groups: map[string]*group{}, lru: list.New(), maxT: math.MinInt64}
	}
}

// Process evaluates every rule on ev (restricted to logType as in
// Engine.Match), returns the standalone detection matches, and feeds the
// matches into the correlation rules, returning the correlation matches
// this event completed. eventTime is the event's own time, not the wall
// clock. ev is not retained (only group-by values, condition fields and
// the ref field are copied). It is ProcessEvent(MapEvent(ev), ...).
func (c *Correlator) Process(ev map[string]any, eventTime time.Time, logType string) ([]Match, []CorrelationMatch) {
	return c.ProcessEvent(MapEvent(ev), eventTime, logType)
}

// ProcessEvent is Process for any Event, e.g. a JSONEvent over a
// document's bytes (see EventTime for reading eventTime from it). Values
// the Correlator keeps (group-by values, value_count values, refs) are
// copied, so the event's memory may be reused after the call.
func (c *Correlator) ProcessEvent(ev Event, eventTime time.Time, logType string) ([]Match, []CorrelationMatch) {
	var ms []Match
	var cms []CorrelationMatch
	t := eventTime.UnixNano()
	c.e.eachMatch(ev, logType, func(cr *compiledRule) {
		if cr.standalone {
			ms = append(ms, cr.match())
		}
		for _, f := range cr.feeds {
			c.feed(f, ev, t, &cms)
		}
	})
	return ms, cms
}

// Flush decides the windows that end before watermark for the conditions
// evaluated at window close, drops groups older than two timespans before
// watermark, and returns the matches. Call it periodically with the event
// time the stream has reached (for example the oldest of the latest event
// times of all sources).
func (c *Correlator) Flush(watermark time.Time) []CorrelationMatch {
	var cms []CorrelationMatch
	w := watermark.UnixNano()
	for ci, cc := range c.e.corrs {
		st := c.st[ci]
		keys := make([]string, 0, len(st.groups))
		for k := range st.groups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			g := st.groups[k]
			if cc.atClose {
				c.closeWindows(cc, g, w, nil, &cms)
			}
			if g.MaxT < w-2*cc.span {
				st.lru.Remove(g.elem)
				delete(st.groups, k)
			}
		}
	}
	return cms
}

// groupKey returns the group key of ev and its group-by values; the values
// may view ev's memory (clone them to keep them).
func (c *Correlator) groupKey(in *corrInput, ev Event) (string, []string) {
	if len(in.groupBy) == 0 {
		return "", nil
	}
	vals := make([]string, len(in.groupBy))
	for i, p := range in.groupBy {
		if v, ok := ev.Field(p); ok {
			vals[i], _ = valueString(v)
		}
	}
	return strings.Join(vals, "\x1f"), vals
}

func (c *Correlator) feed(f corrFeed, ev Event, t int64, out *[]CorrelationMatch) {
	cc := c.e.corrs[f.corr]
	in := &cc.inputs[f.input]
	st := c.st[f.corr]
	en := entry{T: t, In: f.input}
	switch cc.c.Type {
	case ValueCount, ValuePercentile:
		parts := make([]string, len(in.fields))
		for i, p := range in.fields {
			v, ok := ev.Field(p)
			if !ok || v == nil {
				return // an event without the field has no value to count
			}
			parts[i], _ = valueString(v)
		}
		if len(parts) == 1 {
			en.V = strings.Clone(parts[0]) // Join would return it as is
		} else {
			en.V = strings.Join(parts, "\x1f")
		}
	case ValueSum, ValueAvg:
		v, ok := ev.Field(in.fields[0])
		if !ok {
			return
		}
		n, ok := valueFloat(v)
		if !ok {
			return
		}
		en.N = n
	}
	if c.refs != nil {
		if v, ok := ev.Field(c.refs); ok {
			r, _ := valueString(v)
			en.Ref = strings.Clone(r)
		}
	}
	key, vals := c.groupKey(in, ev)
	if t > st.maxT {
		st.maxT = t
	}
	// Expire groups whose newest event is far behind.
	for b := st.lru.Back(); b != nil && !c.cfg.KeepBehind; b = st.lru.Back() {
		g := b.Value.(*group)
		if g.MaxT >= st.maxT-2*cc.span || g.Key == key {
			break
		}
		st.lru.Remove(b)
		delete(st.groups, g.Key)
	}
	g := st.groups[key]
	if g == nil {
		for len(st.groups) >= c.cfg.MaxGroups {
			b := st.lru.Back()
			old := b.Value.(*group)
			st.lru.Remove(b)
			delete(st.groups, old.Key)
		}
		for i, v := range vals {
			vals[i] = strings.Clone(v)
		}
		key = strings.Clone(key)
		g = &group{Key: key, Values: vals, MaxT: t, Closed: math.MinInt64}
		g.elem = st.lru.PushFront(g)
		st.groups[key] = g
	} else {
		st.lru.MoveToFront(g.elem)
		if t < g.MaxT-cc.span || (cc.atClose && t <= g.Closed) {
			return // too late: its windows are gone
		}
	}
	c.seq++
	en.Seq = c.seq
	// Insert in (T, Seq) order.
	i := sort.Search(len(g.Entries), func(i int) bool { return g.Entries[i].T > t })
	g.Entries = append(g.Entries, entry{})
	copy(g.Entries[i+1:], g.Entries[i:])
	g.Entries[i] = en
	if t > g.MaxT {
		g.MaxT = t
	}
	if n := len(g.Entries) - c.cfg.MaxEventsPerGroup; n > 0 {
		// Drop a quarter more than needed so that a full group does not
		// shift its whole slice on every event.
		n += c.cfg.MaxEventsPerGroup / 4
		if n > len(g.Entries) {
			n = len(g.Entries)
		}
		g.Entries = append(g.Entries[:0], g.Entries[n:]...)
		if i -= n; i < 0 {
			return // the new event was the oldest and fell out
		}
	}
	if cc.atClose {
		c.closeWindows(cc, g, g.MaxT, ev, out)
	} else {
		c.checkArrival(cc, g, &g.Entries[i], ev, out)
	}
	c.prune(cc, g)
}

// prune drops events and fired windows that no future window can reach.
func (c *Correlator) prune(cc *compiledCorr, g *group) {
	limit := g.MaxT - 2*cc.span
	n := 0
	for n < len(g.Entries) && g.Entries[n].T < limit && (!cc.atClose || g.Entries[n].T <= g.Closed) {
		n++
	}
	// Compact in batches: expired entries left in place are never read
	// (windows start at a binary search on time).
	if n > 0 && (n >= 64 || 2*n >= len(g.Entries)) {
		g.Entries = append(g.Entries[:0], g.Entries[n:]...)
	}
	k := 0
	for _, w := range g.Fired {
		if w.E >= limit {
			g.Fired[k] = w
			k++
		}
	}
	g.Fired = g.Fired[:k]
}

func (g *group) blocked(s, e int64) bool {
	_, b := g.blocker(s, e)
	return b
}

// blocker returns the fired window [s, e] overlaps, if any.
func (g *group) blocker(s, e int64) (window, bool) {
	for _, w := range g.Fired {
		if s <= w.E && e >= w.S {
			return w, true
		}
	}
	return window{}, false
}

// checkArrival looks for the earliest window containing the new entry cur
// that satisfies the condition.
func (c *Correlator) checkArrival(cc *compiledCorr, g *group, cur *entry, ev Event, out *[]CorrelationMatch) {
	curCopy := *cur
	lo := curCopy.T - cc.span
	inOrder := curCopy.T >= g.MaxT
	start := sort.Search(len(g.Entries), func(i int) bool { return g.Entries[i].T >= lo })
	for i := start; i < len(g.Entries) && g.Entries[i].T <= curCopy.T; i++ {
		s := g.Entries[i].T
		if i > start && g.Entries[i-1].T == s {
			continue
		}
		if w, ok := g.blocker(s, s+cc.span); ok {
			// Skip every start inside the fired window at once.
			if j := sort.Search(len(g.Entries), func(k int) bool { return g.Entries[k].T > w.E }); j-1 > i {
				i = j - 1
			}
			continue
		}
		if res, ok := cc.evalWindow(g.Entries[i:], s+cc.span, &curCopy); ok {
			c.fire(cc, g, s, res, ev, out)
			return
		}
		if inOrder {
			// With no later events, the earliest start sees every event
			// any later start sees.
			return
		}
	}
}

// closeWindows decides every window of g that ends before watermark.
func (c *Correlator) closeWindows(cc *compiledCorr, g *group, watermark int64, ev Event, out *[]CorrelationMatch) {
	for {
		i := sort.Search(len(g.Entries), func(i int) bool { return g.Entries[i].T > g.Closed })
		if i == len(g.Entries) {
			return
		}
		s := g.Entries[i].T
		end := s + cc.span
		if end >= watermark {
			return
		}
		if res, ok := cc.evalWindow(g.Entries[i:], end, nil); ok && !g.blocked(s, end) {
			c.fire(cc, g, s, res, ev, out)
		}
		g.Closed = end
	}
}

type windowResult struct {
	value float64
	count int
	at    int64
	refs  []string
}

// evalWindow evaluates the condition over the entries from es[0] up to
// time end. For monotone conditions it stops at the first entry where the
// condition holds (at is that entry's time).
func (cc *compiledCorr) evalWindow(es []entry, end int64, cur *entry) (windowResult, bool) {
	if cc.c.Type == EventCount && cc.monotone {
		return cc.evalCount(es, end)
	}
	var res windowResult
	var distinct map[string]struct{}
	var seen uint64
	next, sum, same := 0, 0.0, 0
	n := len(cc.inputs)
	for j := range es {
		e := &es[j]
		if e.T > end {
			break
		}
		res.count++
		res.at = e.T
		if e.Ref != "" {
			res.refs = append(res.refs, e.Ref)
		}
		switch cc.c.Type {
		case EventCount:
			res.value = float64(res.count)
		case ValueCount:
			if distinct == nil {
				distinct = map[string]struct{}{}
			}
			distinct[e.V] = struct{}{}
			res.value = float64(len(distinct))
		case ValueSum:
			sum += e.N
			res.value = sum
		case ValueAvg:
			sum += e.N
			res.value = sum / float64(res.count)
		case ValuePercentile:
			if cur != nil && e.V == cur.V {
				same++
			}
			res.value = 100 * float64(same) / float64(res.count)
		case Temporal:
			seen |= 1 << uint(e.In)
			res.value = float64(popcount(seen))
		case TemporalOrdered:
			if next < n && e.In == next {
				next++
			}
			res.value = float64(next)
		}
		if cc.monotone && cc.satisfied(res.value) {
			return res, true
		}
	}
	if cc.monotone || res.count == 0 {
		return res, false
	}
	return res, cc.satisfied(res.value)
}

// evalCount is evalWindow for monotone event_count conditions: the count
// first satisfies the condition at a known entry, found without a scan.
func (cc *compiledCorr) evalCount(es []entry, end int64) (windowResult, bool) {
	need := 1
	for _, th := range cc.c.Condition {
		n := int(math.Floor(th.Value)) + 1 // gt
		if th.Op == "gte" {
			n = int(math.Ceil(th.Value))
		}
		if n > need {
			need = n
		}
	}
	if need > len(es) || es[need-1].T > end {
		return windowResult{}, false
	}
	res := windowResult{value: float64(need), count: need, at: es[need-1].T}
	for _, e := range es[:need] {
		if e.Ref != "" {
			res.refs = append(res.refs, e.Ref)
		}
	}
	return res, true
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func (cc *compiledCorr) satisfied(v float64) bool {
	switch cc.c.Type {
	case TemporalOrdered:
		return int(v) == len(cc.inputs)
	case Temporal:
		if len(cc.c.Condition) == 0 {
			return int(v) == len(cc.inputs)
		}
	}
	for _, th := range cc.c.Condition {
		if !compare(th.Op, v, th.Value) {
			return false
		}
	}
	return true
}

func matchID(rule, key string, start int64) string {
	h := sha256.New()
	h.Write([]byte(rule))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(start, 10)))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (c *Correlator) fire(cc *compiledCorr, g *group, s int64, res windowResult, ev Event, out *[]CorrelationMatch) {
	g.Fired = append(g.Fired, window{S: s, E: s + cc.span})
	r := cc.rule
	gb := make(map[string]string, len(cc.c.GroupBy))
	for i, f := range cc.c.GroupBy {
		if i < len(g.Values) {
			gb[f] = g.Values[i]
		}
	}
	refs := res.refs
	if len(refs) > c.cfg.MaxRefs {
		refs = refs[:c.cfg.MaxRefs]
	}
	m := CorrelationMatch{
		ID:          matchID(r.Ref(), g.Key, s),
		RuleID:      r.Ref(),
		Title:       r.Title,
		Level:       r.Level,
		Tags:        r.Tags,
		Type:        cc.c.Type,
		GroupBy:     gb,
		WindowStart: time.Unix(0, s).UTC(),
		WindowEnd:   time.Unix(0, s+cc.span).UTC(),
		Time:        time.Unix(0, res.at).UTC(),
		Value:       res.value,
		Count:       res.count,
		Refs:        refs,
		Rule:        r,
	}
	if cc.standalone {
		*out = append(*out, m)
	}
	if len(cc.feeds) == 0 {
		return
	}
	src := ev
	if src == nil {
		m := make(MapEvent, len(gb))
		for k, v := range gb {
			m[k] = v
		}
		src = m
	}
	for _, f := range cc.feeds {
		c.feed(f, src, res.at, out)
	}
}

// snapshot is the serialized Correlator state.
type snapshot struct {
	Version      int                   `json:"version"`
	Seq          uint64                `json:"seq"`
	Correlations map[string]*snapState `json:"correlations"`
}

type snapState struct {
	MaxT   int64    `json:"max_t"`
	Groups []*group `json:"groups"` // least recently updated first
}

// Snapshot serializes the correlation state (JSON) so that a restarted
// process can Restore it and continue the open windows.
func (c *Correlator) Snapshot() ([]byte, error) {
	s := snapshot{Version: 1, Seq: c.seq, Correlations: map[string]*snapState{}}
	for i, cc := range c.e.corrs {
		st := c.st[i]
		ss := &snapState{MaxT: st.maxT}
		for el := st.lru.Back(); el != nil; el = el.Prev() {
			ss.Groups = append(ss.Groups, el.Value.(*group))
		}
		s.Correlations[cc.rule.Ref()] = ss
	}
	b, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("encoding correlation state: %w", err)
	}
	return b, nil
}

// Restore replaces the state with a Snapshot. State of correlation rules
// that no longer exist is dropped; new rules start empty. Limits of the
// current config apply (excess groups are evicted oldest first).
func (c *Correlator) Restore(data []byte) error {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decoding correlation state: %w", err)
	}
	if s.Version != 1 {
		return errors.New("decoding correlation state: unsupported version " + strconv.Itoa(s.Version))
	}
	c.reset()
	c.seq = s.Seq
	for i, cc := range c.e.corrs {
		ss := s.Correlations[cc.rule.Ref()]
		if ss == nil {
			continue
		}
		st := c.st[i]
		st.maxT = ss.MaxT
		groups := ss.Groups
		if len(groups) > c.cfg.MaxGroups {
			groups = groups[len(groups)-c.cfg.MaxGroups:]
		}
		for _, g := range groups {
			if g == nil {
				continue
			}
			if len(g.Entries) > c.cfg.MaxEventsPerGroup {
				g.Entries = g.Entries[len(g.Entries)-c.cfg.MaxEventsPerGroup:]
			}
			valid := true
			for _, e := range g.Entries {
				if e.In < 0 || e.In >= len(cc.inputs) {
					valid = false
				}
			}
			if !valid || !sort.SliceIsSorted(g.Entries, func(a, b int) bool { return g.Entries[a].T < g.Entries[b].T }) {
				continue
			}
			if old, ok := st.groups[g.Key]; ok {
				st.lru.Remove(old.elem)
			}
			g.elem = st.lru.PushFront(g)
			st.groups[g.Key] = g
		}
	}
	return nil
}
