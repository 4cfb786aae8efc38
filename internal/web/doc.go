// Package web serves Vigil's HTTP API and its web console over an embedded
// store (internal/store). The API answers searches, aggregations, document
// look-ups, field lists, index statistics and the dashboard definitions as
// JSON; the console (Discover and the dashboards) is plain JavaScript and
// CSS embedded in the binary, drawn with a vendored copy of ECharts.
//
// Everything a log contains is untrusted: the console only ever puts it in
// the page as text, and every response carries a Content-Security-Policy
// that forbids inline script.
package web
