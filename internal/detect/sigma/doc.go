// Package sigma is Vigil's streaming Sigma engine: it parses Sigma v2.1
// rules (detection and correlation rules, YAML 1.2), compiles them once,
// evaluates them on events, and keeps the correlation state.
//
// # API
//
//   - Parse(name, data) parses one (multi-document) rule file; LoadDir
//     parses a directory tree. Both report invalid rules with file:line
//     and keep the valid ones.
//   - Compile(rules, opts) compiles rules into an immutable *Engine.
//     Engine.MatchEvent(ev, logType) (or AppendMatches, which reuses the
//     result slice) returns the detection matches of one Event;
//     Engine.Match(m, logType) is the same for a decoded map. The Engine
//     is safe for concurrent use; Engine.NewMatcher gives a goroutine that
//     matches many events in a row a Matcher with scratch space of its own.
//   - Engine.NewCorrelator(cfg) returns a *Correlator, owned by one
//     goroutine: Correlator.ProcessEvent(ev, eventTime, logType) (Process
//     for a map) returns the detection matches and the correlation matches
//     the event completes; EventTime reads an event's time field; Flush
//     decides windows whose conditions are evaluated at window close;
//     Snapshot/Restore persist the state across restarts.
//
// # Events
//
// The engine reads a document only through the Event interface: Field(p)
// returns the value at a Path (a dotted field name split once), Scalars
// walks every scalar value for keyword searches. Two implementations give
// identical answers for the same JSON document:
//
//   - MapEvent: a map[string]any as produced by encoding/json (json.Number
//     or float64 numbers), raw or normalized.
//   - JSONEvent: the document's JSON bytes, read lazily without decoding
//     them into a map (the pipeline's normalized documents exist only as
//     bytes, and decoding one costs more than the rest of the pipeline
//     spends on it). The first lookup indexes the document in one pass
//     (the keys of every object reached through objects, with the spans
//     of their values); scalars view the bytes; one JSONEvent is reused
//     per goroutine with Reset. It answers exactly as MapEvent over the
//     document decoded with UseNumber (numbers keep their text), including
//     duplicate keys (the last wins), escapes and invalid UTF-8; the
//     differential tests and FuzzJSONEvent check this.
//
// Field names in rules are dotted paths into nested objects (a literal key
// containing dots is found too); arrays on the path are mapped over.
//
// # Matching semantics
//
//   - Strings compare case-insensitively (cased makes them sensitive);
//     `*` and `?` are wildcards, `\*`, `\?` and `\\` escape them.
//   - Numbers and booleans compare equal to their string forms; numeric
//     rule values also compare numerically (200 matches 200.0).
//   - A value that is an array matches when any element matches; an object
//     is compared as its JSON text (keys sorted).
//   - `null` matches an absent field or a JSON null; `exists` tests
//     presence only (a JSON null exists).
//   - Keywords (values without a field) match when any scalar value of the
//     event contains them (implicit contains unless a contains, startswith,
//     endswith or re modifier says otherwise).
//   - neq: the field is present and differs from every value (for arrays:
//     some element differs from every value).
//   - re uses Go RE2; constructs RE2 lacks (lookaround, backreferences) are
//     compile errors naming file:line. Sub-modifiers i, m, s set the flags.
//   - base64 and base64offset values match case-sensitively.
//   - minute, hour, day, week, month, year extract that part of a
//     timestamp (RFC 3339 or epoch seconds/milliseconds, UTC) and compare
//     it as a number (alone: equality; with lt/lte/gt/gte).
//   - expand placeholders come from Options.Placeholders; an undefined one
//     is a compile error unless Options.MissingPlaceholders says otherwise.
//
// Correlation types follow the Sigma v2.1 correlation specification:
// event_count, value_count (distinct values, or distinct tuples of several
// fields), temporal, temporal_ordered, value_sum, value_avg and
// value_percentile. The specification leaves value_percentile loose; here
// its value is the percentage (0–100) of the window's events whose field
// value equals the current event's, so `lte: 1` finds values seen in at
// most 1% of a group's events. A correlation referenced by another
// correlation feeds it at the event time its condition became true; its
// group-by values are read from the event that completed it. Matches of
// rules referenced by correlations are only returned when a referencing
// correlation sets `generate: true`. See Correlator for windows, memory
// and out-of-order handling.
//
// Legacy conditions are translated at parse time: `sel | count() by f > N`
// with a timeframe becomes an event_count correlation (value_count with
// count(field), value_sum/value_avg with sum()/avg()), `a | near b` and
// `a and b` with a timeframe become temporal correlations; see
// translateLegacy.
//
// The rule index (see ruleIndex) keys rules by the most selective equality
// values they require, so an event is only checked against rules that can
// match it; the result is identical to checking every rule.
//
// Log types: a rule's logsource selects log types through a mapping table
// (DefaultLogsources, extendable through Options.Logsources).
package sigma
