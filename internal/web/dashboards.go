package web

import (
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// Viz names how the console draws a panel.
type Viz string

// The panel visualisations.
const (
	// VizMetric shows one number: the Value of a count or cardinality.
	VizMetric Viz = "metric"
	// VizBar shows terms buckets as horizontal bars.
	VizBar Viz = "bar"
	// VizPie shows terms buckets as a donut.
	VizPie Viz = "pie"
	// VizTimeline shows a date histogram as stacked bars, one series per
	// split value (Key2) when the aggregation has a Field.
	VizTimeline Viz = "timeline"
	// VizHeatmap shows terms2 buckets as a grid: Key across, Key2 down.
	VizHeatmap Viz = "heatmap"
	// VizTable shows terms (or terms2) buckets as rows with counts.
	VizTable Viz = "table"
	// VizMap shows terms buckets of a country-name field on a world map.
	VizMap Viz = "map"
)

// Panel is one chart of a dashboard: an aggregation and how to draw it.
// Clicking a value in the console adds a filter on the aggregation's
// Field (and Field2) to the whole dashboard.
type Panel struct {
	ID    string
	Title string
	// Description says what the panel answers, shown as its tooltip.
	Description string
	Viz         Viz
	// Agg is what the panel asks the store; its Filter holds the panel's
	// own query and log types, and the console adds the time range and
	// the dashboard's filters when it runs it.
	Agg store.AggRequest
	// Span is the panel's width in twelfths of the dashboard (3, 4, 6, 8
	// or 12); 0 means 6.
	Span int
	// Unit labels the values when they are not document counts (e.g.
	// "bytes" for a terms panel with a Metric).
	Unit string
}

// Dashboard is a set of panels over one kind of log, shown together in the
// console with a shared time range and filters.
type Dashboard struct {
	ID          string
	Title       string
	Description string
	// LogTypes are the log types the panels read, for the console's
	// "open in Discover" link.
	LogTypes []string
	Panels   []Panel
}

// panel finds a panel by id.
func (d *Dashboard) panel(id string) (*Panel, bool) {
	for i := range d.Panels {
		if d.Panels[i].ID == id {
			return &d.Panels[i], true
		}
	}
	return nil, false
}

// Dashboards returns the console's built-in dashboards, a fresh copy on
// each call (callers may modify it). Benchmarks iterate every panel's Agg
// to time the store on the queries the console sends.
func Dashboards() []Dashboard {
	return []Dashboard{
		cloudTrailDashboard(),
		vpcFlowDashboard(),
		guardDutyDashboard(),
		securityHubDashboard(),
		dnsDashboard(),
		authDashboard(),
	}
}

// agg builds an AggRequest over one log type.
func agg(logType string, kind store.AggKind, field string, size int, q string) store.AggRequest {
	return store.AggRequest{Filter: store.Filter{Query: q, LogTypes: []string{logType}}, Kind: kind, Field: field, Size: size}
}

// terms2 builds a terms2 AggRequest over one log type.
func terms2(logType, field, field2 string, size int, q string) store.AggRequest {
	a := agg(logType, store.AggTerms2, field, size, q)
	a.Field2 = field2
	return a
}

// sumBy builds a terms AggRequest ranking field by the sum of metric.
func sumBy(logType, field, metric string, size int, q string) store.AggRequest {
	a := agg(logType, store.AggTerms, field, size, q)
	a.Metric = metric
	return a
}

// The fields below are those the normalizer writes (ECS, per
// internal/logtype/builtin.ini and the type transforms) or the raw record
// keeps; docs/console.md lists them per dashboard.

func cloudTrailDashboard() Dashboard {
	const lt = "cloudtrail"
	return Dashboard{
		ID:          "cloudtrail",
		Title:       "CloudTrail API activity",
		Description: "Who called which AWS APIs, from where, and what failed.",
		LogTypes:    []string{lt},
		Panels: []Panel{
			{ID: "calls", Title: "API calls", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "")},
			{ID: "errors", Title: "Failed calls", Description: "Calls that returned an error code.", Viz: VizMetric, Span: 3,
				Agg: agg(lt, store.AggCount, "", 0, "_exists_:error.code")},
			{ID: "users", Title: "Distinct users", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "user.name", 0, "")},
			{ID: "source-ips", Title: "Distinct source IPs", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "source.ip", 0, "")},
			{ID: "timeline", Title: "Calls over time by service", Viz: VizTimeline, Span: 12,
				Agg: agg(lt, store.AggDateHistogram, "event.module", 8, "")},
			{ID: "services", Title: "Calls by service", Description: "eventSource of each call.", Viz: VizBar, Span: 4,
				Agg: agg(lt, store.AggTerms, "event.module", 10, "")},
			{ID: "operations", Title: "Calls by operation", Description: "eventName of each call.", Viz: VizBar, Span: 4,
				Agg: agg(lt, store.AggTerms, "event.action", 10, "")},
			{ID: "error-codes", Title: "Errors by code", Description: "errorCode of failed calls.", Viz: VizPie, Span: 4,
				Agg: agg(lt, store.AggTerms, "error.code", 10, "_exists_:error.code")},
			{ID: "region-service", Title: "Region × service", Description: "Calls per AWS region and service.", Viz: VizHeatmap, Span: 12,
				Agg: terms2(lt, "event.module", "cloud.region", 150, "")},
			{ID: "top-users", Title: "Top users", Viz: VizTable, Span: 4, Agg: agg(lt, store.AggTerms, "user.name", 10, "")},
			{ID: "top-source-ips", Title: "Top source IPs", Viz: VizTable, Span: 4, Agg: agg(lt, store.AggTerms, "source.ip", 10, "")},
			{ID: "denied-users", Title: "Users with failed calls", Viz: VizTable, Span: 4,
				Agg: terms2(lt, "user.name", "error.code", 10, "_exists_:error.code")},
			{ID: "countries", Title: "Calls by source country", Description: "Needs GeoIP enrichment of source.ip.", Viz: VizMap, Span: 12,
				Agg: agg(lt, store.AggTerms, "source.geo.country_name", 100, "")},
		},
	}
}

func vpcFlowDashboard() Dashboard {
	const lt = "vpcflowlogs"
	return Dashboard{
		ID:          "vpcflow",
		Title:       "VPC Flow",
		Description: "Traffic in and out of the VPCs: who talks most, what is rejected and from where.",
		LogTypes:    []string{lt},
		Panels: []Panel{
			{ID: "flows", Title: "Flows", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "")},
			{ID: "rejected", Title: "Rejected flows", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "event.action:REJECT")},
			{ID: "sources", Title: "Distinct sources", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "source.ip", 0, "")},
			{ID: "destinations", Title: "Distinct destinations", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "destination.ip", 0, "")},
			{ID: "timeline", Title: "Accepted vs rejected over time", Viz: VizTimeline, Span: 8,
				Agg: agg(lt, store.AggDateHistogram, "event.action", 2, "")},
			{ID: "actions", Title: "Accepted vs rejected", Viz: VizPie, Span: 4, Agg: agg(lt, store.AggTerms, "event.action", 2, "")},
			{ID: "talkers-src", Title: "Top talkers (source) by bytes", Viz: VizBar, Span: 4, Unit: "bytes",
				Agg: sumBy(lt, "source.ip", "network.bytes", 10, "")},
			{ID: "talkers-dst", Title: "Top talkers (destination) by bytes", Viz: VizBar, Span: 4, Unit: "bytes",
				Agg: sumBy(lt, "destination.ip", "network.bytes", 10, "")},
			{ID: "ports", Title: "Top destination ports", Viz: VizBar, Span: 4, Agg: agg(lt, store.AggTerms, "destination.port", 10, "")},
			{ID: "rejected-countries", Title: "Rejected sources by country", Description: "Needs GeoIP enrichment of source.ip.", Viz: VizMap, Span: 8,
				Agg: agg(lt, store.AggTerms, "source.geo.country_name", 100, "event.action:REJECT")},
			{ID: "rejected-sources", Title: "Top rejected sources", Viz: VizTable, Span: 4,
				Agg: agg(lt, store.AggTerms, "source.ip", 10, "event.action:REJECT")},
			{ID: "protocols", Title: "Transport protocols", Viz: VizPie, Span: 4, Agg: agg(lt, store.AggTerms, "network.transport", 6, "")},
			{ID: "pairs", Title: "Top source → destination pairs", Viz: VizTable, Span: 8,
				Agg: terms2(lt, "source.ip", "destination.ip", 10, "")},
		},
	}
}

func guardDutyDashboard() Dashboard {
	const lt = "guardduty"
	return Dashboard{
		ID:          "guardduty",
		Title:       "GuardDuty",
		Description: "Threat detection findings: how many, how severe, what kind, from where, against what.",
		LogTypes:    []string{lt},
		Panels: []Panel{
			{ID: "findings", Title: "Findings", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "")},
			{ID: "high", Title: "High severity", Description: "Severity 7.0 and above.", Viz: VizMetric, Span: 3,
				Agg: agg(lt, store.AggCount, "", 0, "event.severity:>=7")},
			{ID: "types", Title: "Distinct finding types", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "rule.id", 0, "")},
			{ID: "instances", Title: "Affected instances", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "cloud.instance.id", 0, "")},
			{ID: "timeline", Title: "Findings over time by severity", Viz: VizTimeline, Span: 12,
				Agg: agg(lt, store.AggDateHistogram, "severitylabel", 4, "")},
			{ID: "finding-types", Title: "Top finding types", Viz: VizBar, Span: 6, Agg: agg(lt, store.AggTerms, "rule.id", 10, "")},
			{ID: "purposes", Title: "Threat purpose", Viz: VizPie, Span: 6, Agg: agg(lt, store.AggTerms, "ThreatPurpose", 10, "")},
			{ID: "origins", Title: "Attack origins", Description: "Country of the remote address of each finding.", Viz: VizMap, Span: 8,
				Agg: agg(lt, store.AggTerms, "source.geo.country_name", 100, "")},
			{ID: "origin-ips", Title: "Top remote addresses", Viz: VizTable, Span: 4, Agg: agg(lt, store.AggTerms, "source.ip", 10, "")},
			{ID: "resource-types", Title: "Affected resource types", Viz: VizPie, Span: 4, Agg: agg(lt, store.AggTerms, "resource.resourceType", 10, "")},
			{ID: "resources", Title: "Affected instances", Viz: VizTable, Span: 4, Agg: agg(lt, store.AggTerms, "cloud.instance.id", 10, "")},
			{ID: "access-keys", Title: "Affected users", Viz: VizTable, Span: 4, Agg: agg(lt, store.AggTerms, "user.name", 10, "")},
		},
	}
}

func securityHubDashboard() Dashboard {
	const lt = "securityhub"
	return Dashboard{
		ID:          "securityhub",
		Title:       "Security findings",
		Description: "Security Hub findings from every product: velocity, severity and source.",
		LogTypes:    []string{lt},
		Panels: []Panel{
			{ID: "findings", Title: "Findings", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "")},
			{ID: "critical", Title: "Critical and high", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "Severity.Label:(CRITICAL OR HIGH)")},
			{ID: "failed", Title: "Failed controls", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "Compliance.Status:FAILED")},
			{ID: "accounts", Title: "Accounts", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "cloud.account.id", 0, "")},
			{ID: "velocity", Title: "Finding velocity by severity", Viz: VizTimeline, Span: 12,
				Agg: agg(lt, store.AggDateHistogram, "Severity.Label", 5, "")},
			{ID: "severity", Title: "Severity", Viz: VizPie, Span: 4, Agg: agg(lt, store.AggTerms, "Severity.Label", 5, "")},
			{ID: "products", Title: "Findings by product", Description: "The product that reported each finding (GuardDuty, Inspector, Security Hub controls...).", Viz: VizBar, Span: 4,
				Agg: agg(lt, store.AggTerms, "event.module", 10, "")},
			{ID: "workflow", Title: "Workflow status", Viz: VizPie, Span: 4, Agg: agg(lt, store.AggTerms, "Workflow.Status", 5, "")},
			{ID: "titles", Title: "Top findings", Viz: VizTable, Span: 8, Agg: agg(lt, store.AggTerms, "rule.name", 10, "")},
			{ID: "product-severity", Title: "Product × severity", Viz: VizHeatmap, Span: 4,
				Agg: terms2(lt, "Severity.Label", "event.module", 50, "")},
		},
	}
}

func dnsDashboard() Dashboard {
	const lt = "route53resolver"
	return Dashboard{
		ID:          "dns",
		Title:       "DNS activity",
		Description: "Route 53 Resolver query logs: what is resolved, by which VPC and instance, and what fails.",
		LogTypes:    []string{lt},
		Panels: []Panel{
			{ID: "queries", Title: "Queries", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "")},
			{ID: "nxdomain", Title: "NXDOMAIN answers", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "dns.response_code:NXDOMAIN")},
			{ID: "domains-n", Title: "Distinct domains", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "dns.question.name", 0, "")},
			{ID: "clients", Title: "Distinct clients", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "source.ip", 0, "")},
			{ID: "timeline", Title: "Queries over time by response code", Viz: VizTimeline, Span: 12,
				Agg: agg(lt, store.AggDateHistogram, "dns.response_code", 5, "")},
			{ID: "domains", Title: "Top queried domains", Viz: VizBar, Span: 6, Agg: agg(lt, store.AggTerms, "dns.question.name", 15, "")},
			{ID: "failed-domains", Title: "Top failing domains", Description: "Names answered NXDOMAIN or SERVFAIL.", Viz: VizTable, Span: 6,
				Agg: agg(lt, store.AggTerms, "dns.question.name", 15, "dns.response_code:(NXDOMAIN OR SERVFAIL)")},
			{ID: "vpcs", Title: "Queries by VPC", Viz: VizPie, Span: 4, Agg: agg(lt, store.AggTerms, "vpc_id", 10, "")},
			{ID: "instances", Title: "Queries by instance", Viz: VizBar, Span: 4, Agg: agg(lt, store.AggTerms, "cloud.instance.id", 10, "")},
			{ID: "types", Title: "Query types", Viz: VizPie, Span: 4, Agg: agg(lt, store.AggTerms, "dns.question.type", 8, "")},
		},
	}
}

func authDashboard() Dashboard {
	const lt = "linux-secure"
	const failed = "process.name:sshd AND event.outcome:failure"
	return Dashboard{
		ID:          "auth",
		Title:       "Authentication",
		Description: "SSH logins on Linux hosts (secure log): failures by source country, user and host.",
		LogTypes:    []string{lt},
		Panels: []Panel{
			{ID: "failures", Title: "SSH failures", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, failed)},
			{ID: "successes", Title: "SSH logins", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCount, "", 0, "process.name:sshd AND event.outcome:success")},
			{ID: "sources", Title: "Distinct failing sources", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "source.ip", 0, failed)},
			{ID: "targets", Title: "Hosts attacked", Viz: VizMetric, Span: 3, Agg: agg(lt, store.AggCardinality, "host.hostname", 0, failed)},
			{ID: "timeline", Title: "SSH logins over time by outcome", Viz: VizTimeline, Span: 12,
				Agg: agg(lt, store.AggDateHistogram, "event.outcome", 3, "process.name:sshd")},
			{ID: "countries", Title: "SSH failures by source country", Viz: VizMap, Span: 8,
				Agg: agg(lt, store.AggTerms, "source.geo.country_name", 100, failed)},
			{ID: "users", Title: "SSH failures by user", Viz: VizBar, Span: 4, Agg: agg(lt, store.AggTerms, "user.name", 10, failed)},
			{ID: "source-ips", Title: "Top failing sources", Viz: VizTable, Span: 4, Agg: agg(lt, store.AggTerms, "source.ip", 10, failed)},
			{ID: "hosts", Title: "Failures by host", Viz: VizBar, Span: 4, Agg: agg(lt, store.AggTerms, "host.hostname", 10, failed)},
			{ID: "country-user", Title: "Country × user", Viz: VizHeatmap, Span: 4,
				Agg: terms2(lt, "user.name", "source.geo.country_name", 60, failed)},
		},
	}
}

// dashboardJSON is a dashboard as /api/dashboards returns it.
type dashboardJSON struct {
	ID          string      `json:"id"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	LogTypes    []string    `json:"log_type"`
	Panels      []panelJSON `json:"panels"`
}

// panelJSON is a panel as /api/dashboards returns it.
type panelJSON struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Viz         Viz      `json:"viz"`
	Span        int      `json:"span"`
	Unit        string   `json:"unit,omitempty"`
	Agg         aggDef   `json:"agg"`
	Query       string   `json:"query"`
	LogTypes    []string `json:"log_type"`
}

// aggDef is a panel's aggregation as /api/dashboards returns it.
type aggDef struct {
	Kind       store.AggKind `json:"kind"`
	Field      string        `json:"field,omitempty"`
	Field2     string        `json:"field2,omitempty"`
	Metric     string        `json:"metric,omitempty"`
	Size       int           `json:"size,omitempty"`
	IntervalMs int64         `json:"interval_ms,omitempty"`
}

// toJSON converts a dashboard for the API.
func (d *Dashboard) toJSON() dashboardJSON {
	out := dashboardJSON{ID: d.ID, Title: d.Title, Description: d.Description, LogTypes: d.LogTypes, Panels: make([]panelJSON, 0, len(d.Panels))}
	for _, p := range d.Panels {
		span := p.Span
		if span == 0 {
			span = 6
		}
		lts := p.Agg.LogTypes
		if lts == nil {
			lts = []string{}
		}
		out.Panels = append(out.Panels, panelJSON{
			ID: p.ID, Title: p.Title, Description: p.Description, Viz: p.Viz, Span: span, Unit: p.Unit,
			Agg: aggDef{Kind: p.Agg.Kind, Field: p.Agg.Field, Field2: p.Agg.Field2, Metric: p.Agg.Metric,
				Size: p.Agg.Size, IntervalMs: int64(p.Agg.Interval / time.Millisecond)},
			Query: p.Agg.Query, LogTypes: lts,
		})
	}
	return out
}
