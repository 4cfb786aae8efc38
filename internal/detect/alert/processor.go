package alert

import (
	"container/list"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// Match is one detection or correlation match, as the Processor needs it.
// FromSigma and FromCorrelation build it from the engine's matches.
type Match struct {
	RuleID string
	Title  string
	Level  string
	Tags   []string
	// Time is the event time of the match (for a correlation, the time its
	// condition became true). It drives every window.
	Time time.Time
	// DocIDs are the matched documents' ids (one for a detection match,
	// the window's references for a correlation).
	DocIDs []string
	// Count is the number of events the match stands for; 0 counts as 1.
	Count int
	// Fields holds field values read from the matched event: at least the
	// key, dedup and suppression fields of the rule (Processor.FieldsFor).
	// The Processor copies the strings it keeps (here, in GroupBy and in
	// DocIDs), so they may view memory that is reused after the call.
	Fields map[string]string
	// KeyFields names the rule's key fields (its `fields`), reported in
	// Alert.KeyFields.
	KeyFields []string
	// GroupBy holds a correlation's group-by values.
	GroupBy     map[string]string
	Correlation bool
}

// value returns the value of field name: from Fields, else GroupBy.
func (m *Match) value(name string) (string, bool) {
	if v, ok := m.Fields[name]; ok {
		return v, true
	}
	v, ok := m.GroupBy[name]
	return v, ok
}

// Result is what Process did with a match.
type Result struct {
	// Alert is a copy of the alert the match created or updated; nil when
	// the match was suppressed.
	Alert *Alert
	// New is true when the match created the alert: write it and notify.
	// Otherwise it updated an open alert: write it again, do not notify.
	New bool
	// Late is true for a new alert whose window had already ended (by more
	// than Config.Lateness) when the match arrived: its window's state was
	// evicted, so the alert may already exist in the store under the same
	// id (the write overwrites it) and may already have been notified. A
	// late alert stays in the state for Config.Lateness of watermark time
	// from its creation: the late matches that follow update it.
	Late bool
	// Suppressed is true when a suppression silenced the match; Reason is
	// the suppression's.
	Suppressed bool
	Reason     string
}

// Stats counts what a Processor did since it was created.
type Stats struct {
	Created    int64 // alerts created
	Updated    int64 // matches folded into an open alert
	Suppressed int64 // matches silenced by a suppression
	Evicted    int64 // open alerts dropped because MaxOpen was reached
	Expired    int64 // alerts whose window ended, dropped from the state
	Open       int   // alerts in the state now
}

type entry struct {
	a    *Alert
	elem *list.Element // in Processor.lru; front = most recently updated
	slot string        // the alert's key in Processor.bySlot
	// expiry is when (in watermark time) the entry leaves the state: its
	// window's end plus the lateness, or, for an alert created late, the
	// watermark at its creation plus the lateness.
	expiry time.Time
}

// Processor deduplicates and suppresses matches into alerts. It is safe
// for concurrent use and starts no goroutines. Its state is bounded by
// Config.MaxOpen alerts (see docs/alerts.md for the memory per alert).
type Processor struct {
	log *slog.Logger
	cfg Config

	mu     sync.Mutex
	alerts map[string]*entry // by alert id
	// bySlot finds the alert of a match without hashing its id: by rule
	// id, dedup key and window start (see appendSlot).
	bySlot    map[string]*entry
	lru       *list.List    // of *entry
	watermark time.Time     // latest event time seen
	nextSweep time.Time     // the earliest time an entry or suppression may expire
	dynamic   []Suppression // added with Suppress; persisted in snapshots
	stats     Stats
	paths     pathCache
	// Scratch space of foldLocked.
	slotBuf []byte
	names   []string
	sorted  []string
}

// New returns a Processor. cfg is validated (and its defaults filled) here.
func New(cfg Config, log *slog.Logger) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Processor{log: log, cfg: cfg, alerts: make(map[string]*entry), bySlot: make(map[string]*entry), lru: list.New()}, nil
}

// FieldsFor returns the fields Process reads for rule ruleID beyond a
// correlation's group-by values: the rule's key fields, its dedup fields
// and its suppression fields. FromSigma reads them from the event.
func (p *Processor) FieldsFor(ruleID string, keyFields []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fieldsForLocked(ruleID, keyFields)
}

func (p *Processor) fieldsForLocked(ruleID string, keyFields []string) []string {
	out := append([]string(nil), keyFields...)
	rc := p.cfg.Rules[ruleID]
	out = appendNew(out, rc.DedupFields...)
	add := func(ss []Suppression, any bool) {
		for _, s := range ss {
			if any || s.RuleID == "" || s.RuleID == ruleID {
				for k := range s.Fields {
					out = appendNew(out, k)
				}
			}
		}
	}
	add(rc.Suppressions, true)
	add(p.cfg.Suppressions, false)
	add(p.dynamic, false)
	return out
}

func appendNew(s []string, vs ...string) []string {
	for _, v := range vs {
		if !contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

// Process folds one match into the alerts.
func (p *Processor) Process(m Match) Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, res := p.foldLocked(&m)
	if a != nil {
		res.Alert = a.Clone()
	}
	return res
}

// Ref refers to an alert of a Processor's state without copying it; Fold
// returns it. The alert keeps changing with later matches: read it with
// Processor.Read or Processor.Copy. It stays readable after the alert has
// left the state (it then no longer changes). The zero Ref refers to no
// alert.
type Ref struct{ a *Alert }

// IsZero reports whether r refers to no alert.
func (r Ref) IsZero() bool { return r.a == nil }

// ID returns the alert's id ("" for a zero Ref); it never changes.
func (r Ref) ID() string {
	if r.a == nil {
		return ""
	}
	return r.a.ID
}

// Fold folds one match into the alerts as Process does, for the detection
// stage's hot path: instead of a copy of the alert (Result.Alert is nil)
// it returns a Ref to it, so that a match updating an open alert neither
// copies nor allocates. m is not kept.
func (p *Processor) Fold(m *Match) (Ref, Result) {
	p.mu.Lock()
	a, res := p.foldLocked(m)
	p.mu.Unlock()
	return Ref{a: a}, res
}

// Read calls fn with the current state of the alert of each ref (skipping
// zero refs), under the Processor's lock: fn must not keep the alert or
// change it, nor call the Processor.
func (p *Processor) Read(refs []Ref, fn func(a *Alert)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range refs {
		if r.a != nil {
			fn(r.a)
		}
	}
}

// Copy returns a copy of the current state of r's alert (nil for a zero
// Ref).
func (p *Processor) Copy(r Ref) *Alert {
	if r.a == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return r.a.Clone()
}

// foldLocked folds m into the alerts and returns the alert it created or
// updated (nil when suppressed). p.mu must be held.
func (p *Processor) foldLocked(m *Match) (*Alert, Result) {
	t := m.Time
	if t.After(p.watermark) {
		p.watermark = t
	}
	rc := p.cfg.Rules[m.RuleID]
	if s, ok := p.suppressedLocked(m, &rc); ok {
		p.stats.Suppressed++
		p.sweepLocked()
		return nil, Result{Suppressed: true, Reason: s.Reason}
	}
	window := rc.DedupWindow
	if window <= 0 {
		window = p.cfg.DedupWindow
	}
	keyNames := rc.DedupFields
	if len(keyNames) == 0 {
		if len(m.GroupBy) > 0 {
			keyNames = p.names[:0]
			for k := range m.GroupBy {
				keyNames = append(keyNames, k)
			}
			p.names = keyNames
		} else {
			keyNames = m.KeyFields
		}
	}
	ws := windowStart(t, window)
	// The slot key holds the dedup key (DedupKey's text) after the rule
	// id: build it once, in scratch space, and look the alert up by it.
	p.slotBuf = append(append(p.slotBuf[:0], m.RuleID...), 0)
	keyStart := len(p.slotBuf)
	p.slotBuf = p.appendDedupKey(p.slotBuf, keyNames, m)
	keyEnd := len(p.slotBuf)
	p.slotBuf = appendWindow(p.slotBuf, ws)
	count := m.Count
	if count <= 0 {
		count = 1
	}
	if e, ok := p.bySlot[string(p.slotBuf)]; ok {
		a := e.a
		a.Count += count
		if t.Before(a.FirstSeen) {
			a.FirstSeen = t
		}
		if t.After(a.LastSeen) {
			a.LastSeen = t
		}
		p.appendDocIDs(a, m.DocIDs)
		p.lru.MoveToFront(e.elem)
		p.stats.Updated++
		p.sweepLocked()
		return a, Result{}
	}
	key := string(p.slotBuf[keyStart:keyEnd])
	a := &Alert{
		ID: ComputeID(m.RuleID, key, ws), RuleID: m.RuleID, RuleTitle: m.Title, Level: m.Level,
		Tags: append([]string(nil), m.Tags...), Threat: ParseTags(m.Tags),
		Correlation: m.Correlation, DedupKey: key, GroupBy: cloneStrings(m.GroupBy),
		FirstSeen: t, LastSeen: t, WindowStart: ws, WindowEnd: ws.Add(window),
		Count: count, Status: StatusOpen,
	}
	for _, k := range appendNew(append([]string(nil), m.KeyFields...), keyNames...) {
		if v, ok := m.value(k); ok {
			if a.KeyFields == nil {
				a.KeyFields = make(map[string]string)
			}
			a.KeyFields[strings.Clone(k)] = strings.Clone(v)
		}
	}
	p.appendDocIDs(a, m.DocIDs)
	late := a.WindowEnd.Add(p.cfg.Lateness).Before(p.watermark)
	p.insertLocked(a, late)
	p.stats.Created++
	p.sweepLocked()
	return a, Result{New: true, Late: late}
}

// appendDedupKey appends DedupKey's text for the values of m's fields
// names (a missing field counts as "") without building a map: names
// sorted, without duplicates.
func (p *Processor) appendDedupKey(dst []byte, names []string, m *Match) []byte {
	if len(names) == 0 {
		return dst
	}
	sorted := append(p.sorted[:0], names...)
	sort.Strings(sorted)
	for i, k := range sorted {
		if i > 0 {
			if k == sorted[i-1] {
				continue
			}
			dst = append(dst, 0)
		}
		v, _ := m.value(k)
		dst = append(append(append(dst, k...), '='), v...)
	}
	clear(sorted)
	p.sorted = sorted[:0]
	return dst
}

// appendSlot appends the bySlot key of an alert: its rule id, a NUL, its
// dedup key and its window start (eight bytes). Two matches share an alert
// exactly when their slot keys are equal (ComputeID hashes the same
// parts).
func appendSlot(dst []byte, ruleID, key string, ws time.Time) []byte {
	dst = append(append(dst, ruleID...), 0)
	return appendWindow(append(dst, key...), ws)
}

func appendWindow(dst []byte, ws time.Time) []byte {
	return binary.LittleEndian.AppendUint64(dst, uint64(ws.UnixNano()))
}

// insertLocked adds a to the state. A late alert (its window ended more
// than the lateness before the watermark) is kept for the lateness from
// now on, so that the late matches that follow it (a replay, a source
// catching up) update it instead of each creating it again.
func (p *Processor) insertLocked(a *Alert, late bool) {
	e := &entry{a: a, slot: string(appendSlot(nil, a.RuleID, a.DedupKey, a.WindowStart)), expiry: a.WindowEnd.Add(p.cfg.Lateness)}
	if late {
		e.expiry = p.watermark.Add(p.cfg.Lateness)
	}
	e.elem = p.lru.PushFront(e)
	if old, ok := p.alerts[a.ID]; ok {
		p.removeLocked(old)
	}
	if old, ok := p.bySlot[e.slot]; ok {
		p.removeLocked(old)
	}
	p.alerts[a.ID] = e
	p.bySlot[e.slot] = e
	if p.nextSweep.IsZero() || e.expiry.Before(p.nextSweep) {
		p.nextSweep = e.expiry
	}
	for len(p.alerts) > p.cfg.MaxOpen {
		old := p.lru.Back().Value.(*entry)
		p.removeLocked(old)
		p.stats.Evicted++
		p.log.Warn("alert state full: evicting the least recently updated alert",
			slog.String("alert_id", old.a.ID), slog.String("rule_id", old.a.RuleID), slog.Int("max_open", p.cfg.MaxOpen))
	}
}

func (p *Processor) removeLocked(e *entry) {
	p.lru.Remove(e.elem)
	if p.alerts[e.a.ID] == e {
		delete(p.alerts, e.a.ID)
	}
	if p.bySlot[e.slot] == e {
		delete(p.bySlot, e.slot)
	}
}

func (p *Processor) appendDocIDs(a *Alert, ids []string) {
	for _, id := range ids {
		if len(a.DocIDs) < p.cfg.MaxDocIDs {
			a.DocIDs = append(a.DocIDs, strings.Clone(id))
		} else {
			a.DocIDsDropped++
		}
	}
}

// cloneStrings copies m and its strings.
func cloneStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[strings.Clone(k)] = strings.Clone(v)
	}
	return c
}

// windowStart aligns t to the start of its window, counted from the Unix
// epoch.
func windowStart(t time.Time, w time.Duration) time.Time {
	n := t.UnixNano()
	r := n % int64(w)
	if r < 0 {
		r += int64(w)
	}
	return time.Unix(0, n-r).UTC()
}

func (p *Processor) suppressedLocked(m *Match, rc *RuleConfig) (Suppression, bool) {
	if ss := rc.Suppressions; len(ss) > 0 {
		for _, s := range ss {
			if s.active(m.Time) && fieldsMatch(m, s.Fields) {
				return s, true
			}
		}
	}
	for _, list := range [][]Suppression{p.cfg.Suppressions, p.dynamic} {
		for _, s := range list {
			if (s.RuleID == "" || s.RuleID == m.RuleID) && s.active(m.Time) && fieldsMatch(m, s.Fields) {
				return s, true
			}
		}
	}
	return Suppression{}, false
}

func fieldsMatch(m *Match, fields map[string]string) bool {
	for k, want := range fields {
		if v, _ := m.value(k); v != want {
			return false
		}
	}
	return true
}

// sweepLocked drops the alerts whose expiry the watermark has passed (see
// entry.expiry), and the expired dynamic suppressions. It runs when the
// watermark passes the earliest possible expiry, so its cost (a scan of
// the state) is paid about once per window end, not per match.
func (p *Processor) sweepLocked() {
	if p.nextSweep.IsZero() || p.watermark.Before(p.nextSweep) {
		return
	}
	var next time.Time
	for e := p.lru.Back(); e != nil; {
		prev := e.Prev()
		en := e.Value.(*entry)
		exp := en.expiry
		if exp.Before(p.watermark) {
			p.removeLocked(en)
			p.stats.Expired++
		} else if next.IsZero() || exp.Before(next) {
			next = exp
		}
		e = prev
	}
	kept := p.dynamic[:0]
	for _, s := range p.dynamic {
		if s.End().After(p.watermark) {
			kept = append(kept, s)
			if next.IsZero() || s.End().Before(next) {
				next = s.End()
			}
		}
	}
	p.dynamic = kept
	p.nextSweep = next
}

// Suppress adds a suppression at run time (an operator's "mute this for
// 24h"); it is kept in snapshots until its period ends in event time.
func (p *Processor) Suppress(s Suppression) error {
	if err := s.validate("suppression", p.cfg.MaxSuppressFields); err != nil {
		return err
	}
	s.Fields = cloneMap(s.Fields)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dynamic = append(p.dynamic, s)
	if p.nextSweep.IsZero() || s.End().Before(p.nextSweep) {
		p.nextSweep = s.End()
	}
	return nil
}

// Acknowledge marks the open alert id acknowledged and returns a copy of
// it; ok is false when the state does not hold it (the store does; the
// console updates it there).
func (p *Processor) Acknowledge(id string) (a *Alert, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.alerts[id]
	if !ok {
		return nil, false
	}
	e.a.Status = StatusAcknowledged
	return e.a.Clone(), true
}

// SetStatus sets the status of the open alert id, so that the alert's
// next update keeps what a person chose in the console; it reports false
// when the state does not hold the alert.
func (p *Processor) SetStatus(id string, s Status) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.alerts[id]
	if ok {
		e.a.Status = s
	}
	return ok
}

// Get returns a copy of the alert id from the state.
func (p *Processor) Get(id string) (*Alert, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.alerts[id]
	if !ok {
		return nil, false
	}
	return e.a.Clone(), true
}

// Stats returns the counters.
func (p *Processor) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Open = len(p.alerts)
	return s
}

// Watermark returns the latest event time seen.
func (p *Processor) Watermark() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.watermark
}

// snapshotVersion changes when the snapshot's shape does.
const snapshotVersion = 1

type snapshot struct {
	Version      int              `json:"version"`
	Watermark    time.Time        `json:"watermark"`
	Alerts       []*Alert         `json:"alerts"`
	Suppressions []jsonSuppressed `json:"suppressions,omitempty"`
}

type jsonSuppressed struct {
	RuleID   string            `json:"rule_id,omitempty"`
	Fields   map[string]string `json:"fields"`
	Start    time.Time         `json:"start"`
	Duration string            `json:"duration"`
	Reason   string            `json:"reason,omitempty"`
}

// Snapshot writes the state (open alerts, run-time suppressions, the
// watermark) as one JSON document. Configured suppressions are not part of
// it: they come from the configuration again.
func (p *Processor) Snapshot(w io.Writer) error {
	p.mu.Lock()
	s := snapshot{Version: snapshotVersion, Watermark: p.watermark, Alerts: make([]*Alert, 0, len(p.alerts))}
	for e := p.lru.Back(); e != nil; e = e.Prev() { // least recently updated first
		s.Alerts = append(s.Alerts, e.Value.(*entry).a.Clone())
	}
	for _, d := range p.dynamic {
		s.Suppressions = append(s.Suppressions, jsonSuppressed{RuleID: d.RuleID, Fields: d.Fields, Start: d.Start, Duration: d.Duration.String(), Reason: d.Reason})
	}
	p.mu.Unlock()
	if err := json.NewEncoder(w).Encode(&s); err != nil {
		return fmt.Errorf("writing alert snapshot: %w", err)
	}
	return nil
}

// Restore replaces the state with a snapshot written by Snapshot. Alerts
// beyond MaxOpen (the least recently updated) are dropped; alerts whose
// window has expired are dropped on the next match.
func (p *Processor) Restore(r io.Reader) error {
	var s snapshot
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("reading alert snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("reading alert snapshot: version %d, want %d", s.Version, snapshotVersion)
	}
	var dyn []Suppression
	for i, d := range s.Suppressions {
		dur, err := time.ParseDuration(d.Duration)
		if err != nil {
			return fmt.Errorf("reading alert snapshot: suppressions[%d].duration: %w", i, err)
		}
		dyn = append(dyn, Suppression{RuleID: d.RuleID, Fields: d.Fields, Start: d.Start, Duration: dur, Reason: d.Reason})
	}
	for i, a := range s.Alerts {
		if a == nil || a.ID == "" || !a.Status.Valid() {
			return fmt.Errorf("reading alert snapshot: alerts[%d]: missing id or bad status", i)
		}
	}
	// The snapshot lists the alerts least recently updated first: pushing
	// them to the front in that order rebuilds the LRU order.
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alerts = make(map[string]*entry, len(s.Alerts))
	p.bySlot = make(map[string]*entry, len(s.Alerts))
	p.lru = list.New()
	p.nextSweep = time.Time{}
	p.watermark = s.Watermark
	p.dynamic = dyn
	for _, a := range s.Alerts {
		p.insertLocked(a, false)
	}
	for _, d := range dyn {
		if p.nextSweep.IsZero() || d.End().Before(p.nextSweep) {
			p.nextSweep = d.End()
		}
	}
	return nil
}
