// Package stage runs detection inside the pipeline: every normalized
// document is evaluated against the Sigma rules of the configured rule
// directories, correlation rules keep their windows across documents,
// matches become alerts (deduplicated and suppressed by package alert), the
// alert documents join the batch that raised them, and new alerts go to the
// notifier. The same rules run whatever the sink; rules name raw AWS fields
// or ECS fields alike, since the documents hold both.
//
// # Wiring
//
//	d, err := stage.New(stage.Config{RuleDirs: dirs, StateDir: dir, Notifier: dispatcher}, logger)
//	objCfg.Inspect = d.Inspect                // in every worker, before a batch is emitted
//	err = pipeline.Run(ctx, runCfg, src, newProc, d.Sink(sink), onErr)
//	err = d.Close()                           // after Run: writes the state
//
// Inspect runs on the workers' goroutines, in parallel: detection matching
// (the immutable sigma.Engine) needs no lock. Only documents that match a
// rule feeding a correlation take the lock of the one shared Correlator.
// The alert.Processor is shared too (it has its own lock).
//
// # Alert documents
//
// An alert is written as a document of index Config.AlertIndex ("alerts"),
// log type "alert", id the alert id, source the alert document of
// docs/alerts.md, timestamp its last_seen. An update of an open alert is
// written again under the same id: sinks must overwrite (upsert) by id.
// Alert documents carry no Ack: they count toward no source object's
// summary. Within one batch an alert is written once, in its latest state.
//
// # Time and windows
//
// Correlation windows run on event time (the document's @timestamp). The
// watermark is the newest event time seen (timestamps more than a day
// ahead of the wall clock do not move it). Windows whose conditions are
// decided when they close are flushed periodically, and at the end of a
// run by the sink Sink returns, once the watermark has passed their end by
// alert.Config.Lateness. Windows still open at the end of a run are kept
// in StateDir for the next run, or, with Config.DecideAtEnd (a one-shot
// run that keeps no state), decided then.
//
// # Reload
//
// Reload re-reads the rule directories: invalid rules are reported (logged
// and returned) and the valid ones replace the rule set at once; the
// correlation state of rules that still exist carries over. Watch polls the
// directories and reloads on change; `vigil serve` also reloads on SIGHUP.
package stage
