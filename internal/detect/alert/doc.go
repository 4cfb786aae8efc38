// Package alert turns detection matches into alerts: it owns the alert
// document (its deterministic id, its JSON encoding), per-rule
// deduplication, suppression and the bounded, snapshottable state that
// makes both work across restarts.
//
// # Flow
//
// The pipeline converts each sigma.Match (with the event it matched) or
// sigma.CorrelationMatch into a Match (FromSigma, FromCorrelation) and hands
// it to Processor.Process, which answers with a Result: a new Alert (to be
// written to the alerts index and notified), an update of an open Alert
// (to be written again, not notified), or a suppression (nothing to do).
// Processor.Fold does the same for a hot path without copying the alert:
// it returns a Ref, read later (once per batch) with Processor.Read.
//
// # Time
//
// Everything here runs on event time, the Match's Time: dedup windows,
// suppression periods and the eviction of closed windows (driven by the
// watermark, the latest event time seen). A replay of the same logs
// therefore produces the same alerts with the same ids, whatever the wall
// clock. The one wall-clock limit, the notification rate limit per
// destination, lives in package notify.
//
// # Deduplication
//
// Each rule has a dedup key (RuleConfig.DedupFields; by default the
// correlation's group-by values, else the rule's `fields`, else nothing: one
// alert per rule and window) and a dedup window (RuleConfig.DedupWindow,
// default Config.DedupWindow). Windows are tumbling and aligned to the Unix
// epoch: a match at time t falls in the window starting at
// t - t mod window. Aligned windows make the alert id a function of the
// match alone (rule id, dedup key, window start), so the id does not depend
// on the order events arrive in, on which worker saw them first, or on
// whether the state survived: a late match whose window was already evicted
// gets the same id again, and the store's upsert overwrites instead of
// duplicating. The price: a burst that straddles a window boundary raises
// two alerts. Such a late alert is kept for the lateness from its
// creation, so a replay of old logs folds its matches into one alert per
// window instead of creating it again for each.
//
// # Concurrency
//
// A Processor is safe for concurrent use (one mutex); detection workers may
// share one. It starts no goroutines.
package alert
