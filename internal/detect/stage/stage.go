package stage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

// AlertLogType is the log type of alert documents.
const AlertLogType = "alert"

// DefaultAlertIndex is the index alert documents go to by default.
const DefaultAlertIndex = "alerts"

// Notifier receives new alerts. Enqueue must not block for long: it runs
// on the pipeline's workers. *notify.Dispatcher implements it.
type Notifier interface {
	Enqueue(a *alert.Alert) error
}

// Config configures a Detector.
type Config struct {
	// RuleDirs are the rule directories (walked for *.yml and *.yaml) or
	// single rule files.
	RuleDirs []string
	// Logsources maps rule logsources to log types; nil means
	// sigma.DefaultLogsources().
	Logsources []sigma.LogsourceMapping
	// Placeholders resolves `expand` placeholders of rules.
	Placeholders map[string][]string
	// Alert configures deduplication and suppression.
	Alert alert.Config
	// Correlation bounds the correlation state. Its RefField is set by the
	// Detector (correlation matches report the documents' ids).
	Correlation sigma.CorrelatorConfig
	// StateDir, when set, keeps the correlation windows and the open
	// alerts across restarts: New restores them, Close writes them.
	StateDir string
	// Notifier, when set, receives each new alert (not updates, and not a
	// late alert that may have been notified already).
	Notifier Notifier
	// OnAlert, when set, is told about every alert written (new or
	// updated), on the worker's goroutine; it must not block.
	OnAlert func(alert.Result)
	// AlertIndex is the index of alert documents; default "alerts".
	AlertIndex string
	// WatchInterval is how often Watch polls the rule directories;
	// default 3s.
	WatchInterval time.Duration
	// FlushInterval is how often (wall clock) the correlation windows that
	// are decided when they close are flushed; default 1s.
	FlushInterval time.Duration
	// DecideAtEnd makes the end of a run (the Close of the sink Sink
	// returns, or Close) decide every open correlation window, for a
	// one-shot run whose state is not kept (vigil load without a state
	// directory); windows are then not decided during the run, because
	// the objects of one load may be read in any order and far apart in
	// time: the watermark that a later object moves on must not close
	// the windows an older one is still filling. Otherwise open windows
	// stay open, in StateDir, for the next run.
	DecideAtEnd bool
}

// Stats counts what a Detector did since New.
type Stats struct {
	Documents          int64 // documents evaluated
	Matches            int64 // detection matches (rules raising their own)
	CorrelationMatches int64 // correlation matches
	AlertsNew          int64 // alerts created
	AlertsUpdated      int64 // updates of open alerts
	Suppressed         int64 // matches silenced by a suppression
	NotifyErrors       int64 // alerts the notifier refused
	Reloads            int64 // successful reloads
	Rules              int   // detection rules loaded
	Correlations       int   // correlation rules loaded
	RuleProblems       int   // invalid rules at the last load
}

// Detector evaluates rules on the pipeline's documents. Inspect is safe
// for concurrent use; Reload and Watch may run while it does.
type Detector struct {
	cfg   Config
	log   *slog.Logger
	opts  sigma.Options
	alert *alert.Processor

	rules atomic.Pointer[ruleSet]

	// corrMu guards corr, the one Correlator (it is not safe for
	// concurrent use).
	corrMu sync.Mutex
	corr   *sigma.Correlator

	reloadMu    sync.Mutex
	fingerprint uint64
	problems    []error

	// watermark is the newest event time seen, Unix ns.
	watermark atomic.Int64
	flushMu   sync.Mutex
	lastFlush atomic.Int64 // wall clock, Unix ns
	flushedAt int64        // watermark of the last flush; guarded by flushMu

	// free holds the idle scratch states (one per worker that ran
	// Inspect); unlike a sync.Pool it keeps their grown buffers across
	// garbage collections.
	freeMu sync.Mutex
	free   []*scratch

	closeOnce sync.Once
	closeErr  error

	stats struct {
		docs, matches, corrMatches, created, updated, suppressed, notifyErrs, reloads atomic.Int64
	}
}

// RefField is the field name under which a DocEvent answers with the
// document's id (no rule field can have it): the CorrelatorConfig.RefField
// that makes correlation matches list the documents involved.
const RefField = "\x00vigil.doc_id"

// New loads and compiles the rules of cfg.RuleDirs and restores the state
// of cfg.StateDir. Invalid rules do not fail New: they are logged and
// listed by Problems; a rule directory that cannot be read does.
func New(cfg Config, logger *slog.Logger) (*Detector, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AlertIndex == "" {
		cfg.AlertIndex = DefaultAlertIndex
	}
	if cfg.WatchInterval <= 0 {
		cfg.WatchInterval = 3 * time.Second
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if len(cfg.RuleDirs) == 0 {
		return nil, errors.New("detection: no rule directory given")
	}
	cfg.Correlation.RefField = RefField
	ap, err := alert.New(cfg.Alert, logger)
	if err != nil {
		return nil, fmt.Errorf("detection: %w", err)
	}
	if err := cfg.Alert.Validate(); err != nil { // fills the defaults New filled in its copy
		return nil, fmt.Errorf("detection: %w", err)
	}
	d := &Detector{
		cfg:   cfg,
		log:   logger,
		opts:  sigma.Options{Logsources: cfg.Logsources, Placeholders: cfg.Placeholders},
		alert: ap,
	}
	d.watermark.Store(minTime)
	if _, err := d.reload(true); err != nil {
		return nil, err
	}
	if err := d.restoreState(); err != nil {
		return nil, err
	}
	return d, nil
}

// minTime marks an unset watermark.
const minTime = -1 << 63

// Problems returns the invalid rules of the last (re)load, one error each
// naming file:line.
func (d *Detector) Problems() []error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	return append([]error(nil), d.problems...)
}

// Reload re-reads the rule directories. The valid rules replace the rule
// set at once (documents being evaluated finish with the old set); the
// invalid ones are logged and returned, one error each naming file:line.
// When a directory cannot be read at all, the current set stays and the
// returned list holds that error alone.
func (d *Detector) Reload() []error {
	problems, err := d.reload(false)
	if err != nil {
		d.log.Error("reloading rules: keeping the current rules", slog.Any("error", err))
		return []error{err}
	}
	return problems
}

func (d *Detector) reload(initial bool) ([]error, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	fp := fingerprint(d.cfg.RuleDirs) // before reading: an edit during the load is seen next time
	rules, files, problems, err := loadRules(d.cfg.RuleDirs)
	if err != nil {
		return nil, err
	}
	rs, cerrs := compileSet(rules, d.opts)
	if rs == nil {
		return nil, errors.Join(cerrs...)
	}
	rs.files = files
	problems = append(problems, cerrs...)
	sortErrors(problems)

	d.corrMu.Lock()
	cc := d.cfg.Correlation
	// A one-shot run reads objects far apart in time at once: a group must
	// not expire because another object's events are hours ahead.
	cc.KeepBehind = cc.KeepBehind || d.cfg.DecideAtEnd
	corr := rs.corrEng.NewCorrelator(cc)
	if d.corr != nil {
		// Carry the open windows over: state of correlations that still
		// exist (by rule id) is kept, the rest dropped.
		snap, err := d.corr.Snapshot()
		if err == nil {
			err = corr.Restore(snap)
		}
		if err != nil {
			d.log.Error("reloading rules: correlation windows could not be carried over", slog.Any("error", err))
		}
	}
	d.corr = corr
	d.rules.Store(rs)
	d.corrMu.Unlock()

	d.fingerprint = fp
	d.problems = problems
	for _, p := range problems {
		d.log.Warn("invalid rule", slog.Any("error", p))
	}
	msg := "rules reloaded"
	if initial {
		msg = "rules loaded"
	} else {
		d.stats.reloads.Add(1)
	}
	d.log.Info(msg, slog.Int("files", files), slog.Int("rules", rs.detection),
		slog.Int("correlations", rs.correlation), slog.Int("invalid", len(problems)))
	return problems, nil
}

// Watch polls the rule directories every Config.WatchInterval and reloads
// the rules when a rule file was added, changed or removed. It returns nil
// when ctx ends; run it in the caller's errgroup.
func (d *Detector) Watch(ctx context.Context) error {
	t := time.NewTicker(d.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		fp := fingerprint(d.cfg.RuleDirs)
		d.reloadMu.Lock()
		changed := fp != d.fingerprint
		d.reloadMu.Unlock()
		if changed {
			d.log.Info("rule files changed: reloading")
			d.Reload()
		}
	}
}

// Stats returns the counters.
func (d *Detector) Stats() Stats {
	rs := d.rules.Load()
	d.reloadMu.Lock()
	np := len(d.problems)
	d.reloadMu.Unlock()
	return Stats{
		Documents:          d.stats.docs.Load(),
		Matches:            d.stats.matches.Load(),
		CorrelationMatches: d.stats.corrMatches.Load(),
		AlertsNew:          d.stats.created.Load(),
		AlertsUpdated:      d.stats.updated.Load(),
		Suppressed:         d.stats.suppressed.Load(),
		NotifyErrors:       d.stats.notifyErrs.Load(),
		Reloads:            d.stats.reloads.Load(),
		Rules:              rs.detection,
		Correlations:       rs.correlation,
		RuleProblems:       np,
	}
}

// Alerts returns the alert processor, e.g. to add run-time suppressions
// or acknowledge alerts.
func (d *Detector) Alerts() *alert.Processor { return d.alert }

// scratch is the per-goroutine state of Inspect.
type scratch struct {
	ev   sigma.JSONEvent
	doc  DocEvent
	ms   []sigma.Match
	feed []sigma.Match
	// matcher and feedMatcher match with the current rule set's eng and
	// feed engines (made anew when a reload replaced them).
	matcher, feedMatcher *sigma.Matcher
	// alerts are the alerts the batch created or updated, once each
	// (pending marks them, byID finds them by id); they are encoded once,
	// at the batch's end.
	pending map[alert.Ref]bool
	byID    map[string]int
	alerts  []alert.Ref
	// fields caches Processor.FieldsFor per rule for one batch; paths
	// the parsed paths of those fields.
	fields map[*sigma.Rule][]string
	paths  map[string]*sigma.Path
	// match, values and docID are reused for every detection match (the
	// Processor copies what it keeps).
	match  alert.Match
	values map[string]string
	docID  [1]string
	// counts are the batch's counters, added to the Detector's at its
	// end.
	counts struct{ matches, corrMatches, created, updated, suppressed, notifyErrs int64 }
	// limit is the latest event time that may move the watermark.
	limit int64
}

// getScratch takes an idle scratch state, or makes one.
func (d *Detector) getScratch() *scratch {
	d.freeMu.Lock()
	defer d.freeMu.Unlock()
	if n := len(d.free); n > 0 {
		sc := d.free[n-1]
		d.free = d.free[:n-1]
		return sc
	}
	return &scratch{}
}

// putScratch returns a scratch state taken with getScratch.
func (d *Detector) putScratch(sc *scratch) {
	d.freeMu.Lock()
	d.free = append(d.free, sc)
	d.freeMu.Unlock()
}

// addCounts adds the counters of sc to d's and resets them.
func (d *Detector) addCounts(sc *scratch) {
	c := &sc.counts
	for _, x := range [...]struct {
		n   *int64
		dst *atomic.Int64
	}{{&c.matches, &d.stats.matches}, {&c.corrMatches, &d.stats.corrMatches}, {&c.created, &d.stats.created},
		{&c.updated, &d.stats.updated}, {&c.suppressed, &d.stats.suppressed}, {&c.notifyErrs, &d.stats.notifyErrs}} {
		if *x.n != 0 {
			x.dst.Add(*x.n)
			*x.n = 0
		}
	}
}

// fieldsFor returns the fields the alert of rule r reads from the event.
func (sc *scratch) fieldsFor(ap *alert.Processor, r *sigma.Rule) []string {
	fs, ok := sc.fields[r]
	if !ok {
		if sc.fields == nil {
			sc.fields = map[*sigma.Rule][]string{}
		}
		fs = ap.FieldsFor(r.Ref(), r.Fields)
		sc.fields[r] = fs
	}
	return fs
}

func (sc *scratch) path(name string) *sigma.Path {
	p, ok := sc.paths[name]
	if !ok {
		if sc.paths == nil {
			sc.paths = map[string]*sigma.Path{}
		}
		p = sigma.NewPath(name)
		sc.paths[name] = p
	}
	return p
}

// detectionMatch builds the alert match of detection match m of the
// current document in sc.match. Its values view the document (the
// Processor copies what it keeps); it is valid until the next call.
func (d *Detector) detectionMatch(sc *scratch, m *sigma.Match, t time.Time, docID string) *alert.Match {
	sc.docID[0] = docID
	clear(sc.values)
	sc.match = alert.Match{
		RuleID: m.RuleID, Title: m.Title, Level: m.Level, Tags: m.Tags,
		Time: t, KeyFields: m.Rule.Fields, DocIDs: sc.docID[:],
	}
	for _, f := range sc.fieldsFor(d.alert, m.Rule) {
		v, ok := sc.ev.Field(sc.path(f))
		if !ok || v == nil {
			continue
		}
		if sc.values == nil {
			sc.values = make(map[string]string)
		}
		sc.values[f] = alert.FieldString(v)
		sc.match.Fields = sc.values
	}
	return &sc.match
}

// DocEvent is a document's event that also answers RefField with the
// document's id, so correlation matches list the documents involved.
type DocEvent struct {
	Event sigma.Event
	ID    string
}

// Field implements sigma.Event.
func (e *DocEvent) Field(p *sigma.Path) (any, bool) {
	if p.Name() == RefField {
		return e.ID, true
	}
	return e.Event.Field(p)
}

// Scalars implements sigma.Event (the id is not among them).
func (e *DocEvent) Scalars(fn func(any) bool) bool { return e.Event.Scalars(fn) }

// Inspect evaluates the rules on every document of b and appends the alert
// documents the matches produce (see the package comment). It is
// pipeline.ObjectConfig.Inspect; it is safe for concurrent use.
func (d *Detector) Inspect(b *pipeline.Batch) {
	rs := d.rules.Load()
	sc := d.getScratch()
	sc.limit = time.Now().Add(24 * time.Hour).UnixNano()
	n := len(b.Docs)
	var evaluated int64
	for i := 0; i < n; i++ {
		doc := &b.Docs[i]
		if doc.LogType == AlertLogType {
			continue
		}
		main, feed := rs.types.applies(doc.LogType), rs.feed != nil && rs.feedTypes.applies(doc.LogType)
		if !main && !feed {
			continue
		}
		evaluated++
		if err := sc.ev.ResetMembers(doc.Source, b.DocMembers(i)); err != nil {
			d.log.Warn("detection: document is not a JSON object", slog.String("id", doc.ID), slog.String("index", doc.Index))
			continue
		}
		t := time.UnixMilli(doc.TimestampMs)
		d.advance(t.UnixNano(), sc.limit)
		if main {
			if sc.matcher == nil || sc.matcher.Engine() != rs.eng {
				sc.matcher = rs.eng.NewMatcher()
			}
			sc.ms = sc.matcher.AppendMatches(sc.ms[:0], &sc.ev, doc.LogType)
			for j := range sc.ms {
				sc.counts.matches++
				d.fold(sc, d.detectionMatch(sc, &sc.ms[j], t, doc.ID))
			}
		}
		if feed {
			if sc.feedMatcher == nil || sc.feedMatcher.Engine() != rs.feed {
				sc.feedMatcher = rs.feed.NewMatcher()
			}
			sc.feed = sc.feedMatcher.AppendMatches(sc.feed[:0], &sc.ev, doc.LogType)
			if len(sc.feed) > 0 {
				sc.doc = DocEvent{Event: &sc.ev, ID: doc.ID}
				d.corrMu.Lock()
				_, cms := d.corr.ProcessEvent(&sc.doc, t, doc.LogType)
				d.corrMu.Unlock()
				sc.doc = DocEvent{}
				d.foldCorrelations(sc, cms)
			}
		}
	}
	d.stats.docs.Add(evaluated)
	if rs.correlation > 0 && !d.cfg.DecideAtEnd {
		d.maybeFlush(sc)
	}
	d.appendAlerts(sc, b)
	d.addCounts(sc)
	_ = sc.ev.Reset(nil) // drop the references to the batch's memory
	sc.match = alert.Match{}
	sc.docID[0] = ""
	clear(sc.values)
	clear(sc.fields) // suppressions may change between batches
	d.putScratch(sc)
}

// advance moves the watermark to ns, unless ns lies beyond limit (a day
// ahead of the wall clock: a bad timestamp must not close every window).
func (d *Detector) advance(ns, limit int64) {
	if ns > limit {
		return
	}
	for {
		cur := d.watermark.Load()
		if ns <= cur || d.watermark.CompareAndSwap(cur, ns) {
			return
		}
	}
}

// foldCorrelations folds correlation matches into the batch's alerts.
func (d *Detector) foldCorrelations(sc *scratch, cms []sigma.CorrelationMatch) {
	for _, cm := range cms {
		sc.counts.corrMatches++
		m := alert.FromCorrelation(cm)
		d.fold(sc, &m)
	}
}

// fold runs one match through the alert processor and notes the alert it
// created or updated for the batch.
func (d *Detector) fold(sc *scratch, m *alert.Match) {
	ref, res := d.alert.Fold(m)
	switch {
	case res.Suppressed:
		sc.counts.suppressed++
		return
	case res.New:
		sc.counts.created++
		if d.cfg.Notifier != nil && !res.Late {
			a := d.alert.Copy(ref)
			if err := d.cfg.Notifier.Enqueue(a); err != nil {
				sc.counts.notifyErrs++
				d.log.Error("queueing alert notification", slog.String("alert_id", a.ID), slog.Any("error", err))
			}
		}
	default:
		sc.counts.updated++
	}
	if d.cfg.OnAlert != nil {
		res.Alert = d.alert.Copy(ref)
		d.cfg.OnAlert(res)
	}
	if sc.pending[ref] {
		return
	}
	if sc.pending == nil {
		sc.pending, sc.byID = map[alert.Ref]bool{}, map[string]int{}
	}
	sc.pending[ref] = true
	if i, ok := sc.byID[ref.ID()]; ok {
		// The alert left the state and was created again (late) under
		// the same id: only its latest state is written.
		delete(sc.pending, sc.alerts[i])
		sc.alerts[i] = ref
		return
	}
	sc.byID[ref.ID()] = len(sc.alerts)
	sc.alerts = append(sc.alerts, ref)
}

// appendAlerts appends the batch's alerts as documents, each in its
// latest state.
func (d *Detector) appendAlerts(sc *scratch, b *pipeline.Batch) {
	d.alert.Read(sc.alerts, func(a *alert.Alert) {
		doc := event.Document{
			Index: d.cfg.AlertIndex, ID: a.ID, LogType: AlertLogType,
			TimestampMs: a.LastSeen.UnixMilli(),
		}
		var err error
		if b.Lines {
			mark := len(b.Buf)
			b.Buf = pipeline.AppendLineHead(b.Buf, doc.Index, doc.ID)
			start := len(b.Buf)
			if b.Buf, err = a.AppendJSON(b.Buf); err != nil {
				b.Buf = b.Buf[:mark]
			} else {
				end := len(b.Buf)
				b.Buf = append(b.Buf, '}', '\n')
				doc.Source = b.Buf[start:end:end]
			}
		} else {
			doc.Source, err = a.AppendJSON(nil)
		}
		if err != nil {
			// Alerts hold strings, numbers and times; only a time
			// beyond the year 9999 fails.
			d.log.Error("encoding alert", slog.String("alert_id", a.ID), slog.Any("error", err))
			return
		}
		b.Docs = append(b.Docs, doc)
	})
	clear(sc.alerts)
	sc.alerts = sc.alerts[:0]
	clear(sc.pending)
	clear(sc.byID)
}

// maybeFlush decides the correlation windows that closed, at most once per
// FlushInterval, on one goroutine at a time.
func (d *Detector) maybeFlush(sc *scratch) {
	now := time.Now().UnixNano()
	if now-d.lastFlush.Load() < int64(d.cfg.FlushInterval) || !d.flushMu.TryLock() {
		return
	}
	defer d.flushMu.Unlock()
	d.lastFlush.Store(now)
	d.flushLocked(sc, false)
}

// flushLocked flushes the correlator up to the watermark less the
// lateness (final: past every window, for a run whose state is not kept).
// flushMu must be held.
func (d *Detector) flushLocked(sc *scratch, final bool) {
	wm := d.watermark.Load()
	if wm == minTime {
		return
	}
	rs := d.rules.Load()
	at := wm - int64(d.cfg.Alert.Lateness)
	if final {
		at = wm + 2*int64(rs.maxSpan) + int64(time.Second)
	}
	if at <= d.flushedAt {
		return
	}
	d.flushedAt = at
	d.corrMu.Lock()
	cms := d.corr.Flush(time.Unix(0, at))
	d.corrMu.Unlock()
	d.foldCorrelations(sc, cms)
}

// FlushDocuments decides the correlation windows that ended (see the
// package comment; final for the end of a run whose state is not kept) and
// returns the alert documents that produced. The Close of Sink's sink
// calls it.
func (d *Detector) FlushDocuments(final bool) []event.Document {
	sc := d.getScratch()
	defer d.putScratch(sc)
	d.flushMu.Lock()
	d.flushLocked(sc, final)
	d.flushMu.Unlock()
	b := &pipeline.Batch{}
	d.appendAlerts(sc, b)
	d.addCounts(sc)
	return b.Docs
}

// Sink wraps the pipeline's sink so that its Close first writes the alerts
// of the correlation windows the end of the run decides. Writes pass
// through unchanged.
func (d *Detector) Sink(inner pipeline.Sink) pipeline.Sink {
	return &flushSink{d: d, inner: inner}
}

type flushSink struct {
	d     *Detector
	inner pipeline.Sink
}

// Write implements pipeline.Sink.
func (s *flushSink) Write(ctx context.Context, b *pipeline.Batch) error {
	return s.inner.Write(ctx, b)
}

// Close implements pipeline.Sink: it writes the final alerts, then closes
// the inner sink.
func (s *flushSink) Close(ctx context.Context) error {
	var err error
	if docs := s.d.FlushDocuments(s.d.cfg.DecideAtEnd); len(docs) > 0 {
		err = s.inner.Write(ctx, &pipeline.Batch{Docs: docs})
		if err != nil {
			err = fmt.Errorf("writing the final alerts: %w", err)
		}
	}
	return errors.Join(err, s.inner.Close(ctx))
}

// Close flushes the correlation windows the watermark has passed and
// writes the state to StateDir (when set). Call it after the pipeline has
// ended. Alerts the flush raises here are notified and logged but not
// written: wrap the sink with Sink to write them. Close is idempotent.
func (d *Detector) Close() error {
	d.closeOnce.Do(func() {
		for _, doc := range d.FlushDocuments(d.cfg.DecideAtEnd) {
			d.log.Warn("alert raised at close is not written to the alerts index (the sink is closed)",
				slog.String("alert_id", doc.ID), slog.String("alert", string(doc.Source)))
		}
		d.closeErr = d.SaveState()
	})
	return d.closeErr
}
