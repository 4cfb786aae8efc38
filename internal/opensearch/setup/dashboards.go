package setup

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/vigil-siem/vigil/internal/logtype"
)

// SavedObject is one OpenSearch Dashboards saved object, as the saved
// objects import API takes it (one JSON object a line).
type SavedObject struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
	References []Reference    `json:"references"`
}

// Reference links a saved object to another (a visualization to its index
// pattern, a dashboard to its panels).
type Reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Title is the object's title attribute.
func (o SavedObject) Title() string {
	s, _ := o.Attributes["title"].(string)
	return s
}

// NDJSON encodes saved objects one a line, as the import API reads them and
// the export API writes them.
func NDJSON(objs []SavedObject) ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encoding saved object %s %s: %w", o.Type, o.ID, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// AllLogsPatternID is the id of the index pattern of every log index.
const AllLogsPatternID = "vigil-index-log-all"

// IndexPatternID is the id of the index pattern of one index name.
func IndexPatternID(index string) string { return "vigil-index-" + index }

// jsonString encodes v for the attributes Dashboards keeps as JSON text.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding a saved object attribute: %v", err)) // only literal maps are encoded
	}
	return string(b)
}

const searchSourceRef = "kibanaSavedObjectMeta.searchSourceJSON.index"

// indexPattern is the saved object of one index pattern.
func indexPattern(id, title string) SavedObject {
	return SavedObject{
		Type: "index-pattern", ID: id,
		Attributes: map[string]any{"title": title, "timeFieldName": "@timestamp"},
		References: []Reference{},
	}
}

// panel is one visualization of a dashboard.
type panel struct {
	slug, title string
	visType     string
	params      map[string]any
	aggs        []map[string]any
	// query is the panel's own filter, in Lucene syntax (as the console's
	// panels write theirs).
	query string
	// span is the width in twelfths of the dashboard, as in the console.
	span int
}

// board is one dashboard: the log type whose index it shows and its panels.
type board struct {
	slug, title, description string
	logType                  string
	panels                   []panel
}

// Aggregation builders. The metric is always id "1"; buckets follow.

func metricAgg(kind, field string) map[string]any {
	params := map[string]any{}
	if field != "" {
		params["field"] = field
	}
	return map[string]any{"id": "1", "enabled": true, "type": kind, "schema": "metric", "params": params}
}

func termsAgg(id, schema, field string, size int) map[string]any {
	return map[string]any{"id": id, "enabled": true, "type": "terms", "schema": schema, "params": map[string]any{
		"field": field, "size": size, "order": "desc", "orderBy": "1",
		"otherBucket": false, "otherBucketLabel": "Other", "missingBucket": false, "missingBucketLabel": "Missing",
	}}
}

func dateAgg(id string) map[string]any {
	return map[string]any{"id": id, "enabled": true, "type": "date_histogram", "schema": "segment", "params": map[string]any{
		"field": "@timestamp", "interval": "auto", "min_doc_count": 1, "extended_bounds": map[string]any{},
	}}
}

func geohashAgg(field string) map[string]any {
	return map[string]any{"id": "2", "enabled": true, "type": "geohash_grid", "schema": "segment", "params": map[string]any{
		"field": field, "autoPrecision": true, "precision": 2, "useGeocentroid": true, "isFilteredByCollar": true,
	}}
}

func chartParams(kind string, legend bool) map[string]any {
	return map[string]any{"type": kind, "addTooltip": true, "addLegend": legend, "legendPosition": "right", "times": []any{}, "addTimeMarker": false}
}

// Panel builders, one per kind of console panel.

// count is one number: the documents matching query.
func count(slug, title, query string) panel {
	return panel{slug: slug, title: title, visType: "metric", span: 3, query: query,
		params: map[string]any{"type": "metric", "addTooltip": true, "addLegend": false},
		aggs:   []map[string]any{metricAgg("count", "")}}
}

// distinct is one number: the distinct values of field.
func distinct(slug, title, field, query string) panel {
	p := count(slug, title, query)
	p.aggs = []map[string]any{metricAgg("cardinality", field)}
	return p
}

// timeline is a bar chart of counts over time, split by the top values of
// field.
func timeline(slug, title, field string, size, span int, query string) panel {
	return panel{slug: slug, title: title, visType: "histogram", params: chartParams("histogram", true), span: span, query: query,
		aggs: []map[string]any{metricAgg("count", ""), dateAgg("2"), termsAgg("3", "group", field, size)}}
}

// bars shows the top values of field as horizontal bars, by count or, with
// sumField, by the sum of that field.
func bars(slug, title, field string, size, span int, query, sumField string) panel {
	metric := metricAgg("count", "")
	if sumField != "" {
		metric = metricAgg("sum", sumField)
	}
	return panel{slug: slug, title: title, visType: "horizontal_bar", params: chartParams("histogram", false), span: span, query: query,
		aggs: []map[string]any{metric, termsAgg("2", "segment", field, size)}}
}

// donut shows the values of field as a donut.
func donut(slug, title, field string, size, span int, query string) panel {
	return panel{slug: slug, title: title, visType: "pie", span: span, query: query, params: map[string]any{
		"type": "pie", "addTooltip": true, "addLegend": true, "legendPosition": "right", "isDonut": true,
		"labels": map[string]any{"show": false, "values": true, "last_level": true, "truncate": 100},
	}, aggs: []map[string]any{metricAgg("count", ""), termsAgg("2", "segment", field, size)}}
}

// table lists the top values of fields (one column each) with their counts.
func table(slug, title string, size, span int, query string, fields ...string) panel {
	aggs := []map[string]any{metricAgg("count", "")}
	for i, f := range fields {
		aggs = append(aggs, termsAgg(fmt.Sprint(i+2), "bucket", f, size))
	}
	return panel{slug: slug, title: title, visType: "table", span: span, query: query, params: map[string]any{
		"perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false, "showTotal": false, "totalFunc": "sum", "percentageCol": "",
	}, aggs: aggs}
}

// heatmap counts the values of x (across) against those of y (down).
func heatmap(slug, title, x, y string, span int, query string) panel {
	return panel{slug: slug, title: title, visType: "heatmap", span: span, query: query, params: map[string]any{
		"type": "heatmap", "addTooltip": true, "addLegend": true, "enableHover": false, "legendPosition": "right",
		"colorSchema": "Reds", "colorsNumber": 5, "setColorRange": false, "invertColors": false, "percentageMode": false,
	}, aggs: []map[string]any{metricAgg("count", ""), termsAgg("2", "segment", x, 20), termsAgg("3", "group", y, 10)}}
}

// countryMap colors the countries of the world by count: a region map of
// the country names in field, as the console's maps.
func countryMap(slug, title, field string, span int, query string) panel {
	return panel{slug: slug, title: title, visType: "region_map", span: span, query: query, params: map[string]any{
		"legendPosition": "bottomright", "addTooltip": true, "colorSchema": "Yellow to Red", "emsHotLink": "",
		"isDisplayWarning": true, "mapZoom": 2, "mapCenter": []any{0, 0}, "outlineWeight": 1, "showAllShapes": true,
	}, aggs: []map[string]any{metricAgg("count", ""), termsAgg("2", "segment", field, 100)}}
}

// pointMap places counts on a world map by the geo_point field.
func pointMap(slug, title, field string, span int, query string) panel {
	return panel{slug: slug, title: title, visType: "tile_map", span: span, query: query, params: map[string]any{
		"mapType": "Scaled Circle Markers", "isDesaturated": true, "addTooltip": true, "heatClusterSize": 1.5,
		"legendPosition": "bottomright", "mapZoom": 2, "mapCenter": []any{0, 0},
	}, aggs: []map[string]any{metricAgg("count", ""), geohashAgg(field)}}
}

// boards are Vigil's dashboards: the panels of the embedded console
// (internal/web), one dashboard per log family, with the same fields and
// filters.
func boards() []board {
	const (
		ctFailed  = "_exists_:error.code"
		rejected  = "event.action:REJECT"
		sshFailed = "process.name:sshd AND event.outcome:failure"
	)
	return []board{
		{slug: "cloudtrail", title: "Vigil: CloudTrail API activity", logType: "cloudtrail",
			description: "Who called which AWS APIs, from where, and what failed.",
			panels: []panel{
				count("calls", "CloudTrail: API calls", ""),
				count("errors", "CloudTrail: failed calls", ctFailed),
				distinct("users", "CloudTrail: distinct users", "user.name", ""),
				distinct("source-ips", "CloudTrail: distinct source IPs", "source.ip", ""),
				timeline("timeline", "CloudTrail: calls over time by service", "event.module", 8, 12, ""),
				bars("services", "CloudTrail: calls by service", "event.module", 10, 4, "", ""),
				bars("operations", "CloudTrail: calls by operation", "event.action", 10, 4, "", ""),
				donut("error-codes", "CloudTrail: errors by code", "error.code", 10, 4, ctFailed),
				heatmap("region-service", "CloudTrail: region × service", "event.module", "cloud.region", 12, ""),
				table("top-users", "CloudTrail: top users", 10, 4, "", "user.name"),
				table("top-source-ips", "CloudTrail: top source IPs", 10, 4, "", "source.ip"),
				table("denied-users", "CloudTrail: users with failed calls", 10, 4, ctFailed, "user.name", "error.code"),
				countryMap("countries", "CloudTrail: calls by source country", "source.geo.country_name", 12, ""),
			}},
		{slug: "vpcflow", title: "Vigil: VPC Flow", logType: "vpcflowlogs",
			description: "Traffic in and out of the VPCs: who talks most, what is rejected and from where.",
			panels: []panel{
				count("flows", "VPC Flow: flows", ""),
				count("rejected", "VPC Flow: rejected flows", rejected),
				distinct("sources", "VPC Flow: distinct sources", "source.ip", ""),
				distinct("destinations", "VPC Flow: distinct destinations", "destination.ip", ""),
				timeline("timeline", "VPC Flow: accepted vs rejected over time", "event.action", 2, 8, ""),
				donut("actions", "VPC Flow: accepted vs rejected", "event.action", 2, 4, ""),
				bars("talkers-src", "VPC Flow: top talkers (source) by bytes", "source.ip", 10, 4, "", "network.bytes"),
				bars("talkers-dst", "VPC Flow: top talkers (destination) by bytes", "destination.ip", 10, 4, "", "network.bytes"),
				bars("ports", "VPC Flow: top destination ports", "destination.port", 10, 4, "", ""),
				countryMap("rejected-countries", "VPC Flow: rejected sources by country", "source.geo.country_name", 8, rejected),
				table("rejected-sources", "VPC Flow: top rejected sources", 10, 4, rejected, "source.ip"),
				donut("protocols", "VPC Flow: transport protocols", "network.transport", 6, 4, ""),
				table("pairs", "VPC Flow: top source → destination pairs", 10, 8, "", "source.ip", "destination.ip"),
			}},
		{slug: "guardduty", title: "Vigil: GuardDuty", logType: "guardduty",
			description: "Threat detection findings: how many, how severe, what kind, from where, against what.",
			panels: []panel{
				count("findings", "GuardDuty: findings", ""),
				count("high", "GuardDuty: high severity", "event.severity:>=7"),
				distinct("types", "GuardDuty: distinct finding types", "rule.id", ""),
				distinct("instances", "GuardDuty: affected instances (count)", "cloud.instance.id", ""),
				timeline("timeline", "GuardDuty: findings over time by severity", "severitylabel", 4, 12, ""),
				bars("finding-types", "GuardDuty: top finding types", "rule.id", 10, 6, "", ""),
				donut("purposes", "GuardDuty: threat purpose", "ThreatPurpose", 10, 6, ""),
				countryMap("origins", "GuardDuty: attack origins", "source.geo.country_name", 8, ""),
				table("origin-ips", "GuardDuty: top remote addresses", 10, 4, "", "source.ip"),
				pointMap("origin-points", "GuardDuty: attack origins (locations)", "source.geo.location", 12, ""),
				donut("resource-types", "GuardDuty: affected resource types", "resource.resourceType", 10, 4, ""),
				table("resources", "GuardDuty: affected instances", 10, 4, "", "cloud.instance.id"),
				table("access-keys", "GuardDuty: affected users", 10, 4, "", "user.name"),
			}},
		{slug: "securityhub", title: "Vigil: Security findings", logType: "securityhub",
			description: "Security Hub findings from every product: velocity, severity and source.",
			panels: []panel{
				count("findings", "Security findings: findings", ""),
				count("critical", "Security findings: critical and high", "Severity.Label:(CRITICAL OR HIGH)"),
				count("failed", "Security findings: failed controls", "Compliance.Status:FAILED"),
				distinct("accounts", "Security findings: accounts", "cloud.account.id", ""),
				timeline("velocity", "Security findings: velocity by severity", "Severity.Label", 5, 12, ""),
				donut("severity", "Security findings: severity", "Severity.Label", 5, 4, ""),
				bars("products", "Security findings: by product", "ProductName", 10, 4, "", ""),
				donut("workflow", "Security findings: workflow status", "Workflow.Status", 5, 4, ""),
				table("titles", "Security findings: top findings", 10, 8, "", "rule.name"),
				heatmap("product-severity", "Security findings: product × severity", "Severity.Label", "ProductName", 4, ""),
			}},
		{slug: "dns", title: "Vigil: DNS activity", logType: "route53resolver",
			description: "Route 53 Resolver query logs: what is resolved, by which VPC and instance, and what fails.",
			panels: []panel{
				count("queries", "DNS: queries", ""),
				count("nxdomain", "DNS: NXDOMAIN answers", "dns.response_code:NXDOMAIN"),
				distinct("domains-n", "DNS: distinct domains", "dns.question.name", ""),
				distinct("clients", "DNS: distinct clients", "source.ip", ""),
				timeline("timeline", "DNS: queries over time by response code", "dns.response_code", 5, 12, ""),
				bars("domains", "DNS: top queried domains", "dns.question.name", 15, 6, "", ""),
				table("failed-domains", "DNS: top failing domains", 15, 6, "dns.response_code:(NXDOMAIN OR SERVFAIL)", "dns.question.name"),
				donut("vpcs", "DNS: queries by VPC", "vpc_id", 10, 4, ""),
				bars("instances", "DNS: queries by instance", "cloud.instance.id", 10, 4, "", ""),
				donut("types", "DNS: query types", "dns.question.type", 8, 4, ""),
			}},
		{slug: "auth", title: "Vigil: Authentication", logType: "linux-secure",
			description: "SSH logins on Linux hosts (secure log): failures by source country, user and host.",
			panels: []panel{
				count("failures", "Authentication: SSH failures", sshFailed),
				count("successes", "Authentication: SSH logins", "process.name:sshd AND event.outcome:success"),
				distinct("sources", "Authentication: distinct failing sources", "source.ip", sshFailed),
				distinct("targets", "Authentication: hosts attacked", "host.hostname", sshFailed),
				timeline("timeline", "Authentication: SSH logins over time by outcome", "event.outcome", 3, 12, "process.name:sshd"),
				countryMap("countries", "Authentication: SSH failures by source country", "source.geo.country_name", 8, sshFailed),
				bars("users", "Authentication: SSH failures by user", "user.name", 10, 4, sshFailed, ""),
				table("source-ips", "Authentication: top failing sources", 10, 4, sshFailed, "source.ip"),
				bars("hosts", "Authentication: failures by host", "host.hostname", 10, 4, sshFailed, ""),
				heatmap("country-user", "Authentication: country × user", "user.name", "source.geo.country_name", 4, sshFailed),
			}},
	}
}

// savedObjects builds the index patterns (one per index name and one for
// every log index) and, for each dashboard whose log type is known, its
// visualizations and the dashboard.
func savedObjects(reg *logtype.Registry, indices []IndexPlan) []SavedObject {
	out := []SavedObject{indexPattern(AllLogsPatternID, "log-*")}
	for _, ip := range indices {
		out = append(out, indexPattern(IndexPatternID(ip.Name), ip.Pattern()))
	}
	for _, b := range boards() {
		t, ok := reg.Get(b.logType)
		if !ok || t.IndexName == "" {
			continue
		}
		out = append(out, b.objects(IndexPatternID(t.IndexName))...)
	}
	return out
}

// objects returns the visualizations of a board and the dashboard.
func (b board) objects(patternID string) []SavedObject {
	var out []SavedObject
	var panels []any
	var refs []Reference
	x, y, rowH := 0, 0, 0
	for i, p := range b.panels {
		id := "vigil-vis-" + b.slug + "-" + p.slug
		out = append(out, p.object(id, patternID))
		w, h := p.span*4, 15 // the grid is 48 columns wide
		if p.visType == "metric" {
			h = 7
		}
		if x+w > 48 {
			x, y, rowH = 0, y+rowH, 0
		}
		ref := fmt.Sprintf("panel_%d", i)
		panels = append(panels, map[string]any{
			"version":          "7.10.0",
			"gridData":         map[string]any{"x": x, "y": y, "w": w, "h": h, "i": fmt.Sprint(i + 1)},
			"panelIndex":       fmt.Sprint(i + 1),
			"embeddableConfig": map[string]any{},
			"panelRefName":     ref,
		})
		refs = append(refs, Reference{Name: ref, Type: "visualization", ID: id})
		x, rowH = x+w, max(rowH, h)
	}
	out = append(out, SavedObject{
		Type: "dashboard", ID: "vigil-dashboard-" + b.slug,
		Attributes: map[string]any{
			"title": b.title, "description": b.description, "hits": 0, "version": 1,
			"panelsJSON":      jsonString(panels),
			"optionsJSON":     jsonString(map[string]any{"useMargins": true, "hidePanelTitles": false}),
			"timeRestore":     true,
			"timeFrom":        "now-7d",
			"timeTo":          "now",
			"refreshInterval": map[string]any{"pause": true, "value": 0},
			"kibanaSavedObjectMeta": map[string]any{
				"searchSourceJSON": jsonString(map[string]any{"query": map[string]any{"query": "", "language": "kuery"}, "filter": []any{}}),
			},
		},
		References: refs,
	})
	return out
}

// object is the saved visualization of a panel.
func (p panel) object(id, patternID string) SavedObject {
	return SavedObject{
		Type: "visualization", ID: id,
		Attributes: map[string]any{
			"title":       p.title,
			"description": "",
			"version":     1,
			"uiStateJSON": "{}",
			"visState":    jsonString(map[string]any{"title": p.title, "type": p.visType, "params": p.params, "aggs": p.aggs}),
			"kibanaSavedObjectMeta": map[string]any{
				"searchSourceJSON": jsonString(map[string]any{
					"query":        map[string]any{"query": p.query, "language": "lucene"},
					"filter":       []any{},
					"indexRefName": searchSourceRef,
				}),
			},
		},
		References: []Reference{{Name: searchSourceRef, Type: "index-pattern", ID: patternID}},
	}
}
