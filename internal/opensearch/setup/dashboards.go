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
	// query is a KQL filter of this panel only.
	query string
	// wide panels take the whole row.
	wide bool
}

// board is one dashboard: the log type whose index it shows and its panels.
type board struct {
	slug, title, description string
	logType                  string
	panels                   []panel
}

// Aggregation builders. The metric is always id "1"; buckets follow.

func countAgg() map[string]any {
	return map[string]any{"id": "1", "enabled": true, "type": "count", "schema": "metric", "params": map[string]any{}}
}

func sumAgg(field string) map[string]any {
	return map[string]any{"id": "1", "enabled": true, "type": "sum", "schema": "metric", "params": map[string]any{"field": field}}
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

// Visualization builders.

func chartParams(kind string, legend bool) map[string]any {
	return map[string]any{"type": kind, "addTooltip": true, "addLegend": legend, "legendPosition": "right", "times": []any{}, "addTimeMarker": false}
}

// overTime is a bar chart of counts over time, split by field when set.
func overTime(slug, title, split string, query string) panel {
	aggs := []map[string]any{countAgg(), dateAgg("2")}
	if split != "" {
		aggs = append(aggs, termsAgg("3", "group", split, 5))
	}
	return panel{slug: slug, title: title, visType: "histogram", params: chartParams("histogram", split != ""), aggs: aggs, query: query, wide: true}
}

// topBars is a horizontal bar chart of the top values of field.
func topBars(slug, title, field string, size int, query string) panel {
	return panel{slug: slug, title: title, visType: "horizontal_bar", params: chartParams("histogram", false),
		aggs: []map[string]any{countAgg(), termsAgg("2", "segment", field, size)}, query: query}
}

// pie is a donut of the values of field.
func pie(slug, title, field string, size int, query string) panel {
	return panel{slug: slug, title: title, visType: "pie", params: map[string]any{
		"type": "pie", "addTooltip": true, "addLegend": true, "legendPosition": "right", "isDonut": true,
		"labels": map[string]any{"show": false, "values": true, "last_level": true, "truncate": 100},
	}, aggs: []map[string]any{countAgg(), termsAgg("2", "segment", field, size)}, query: query}
}

// table lists the top combinations of fields, by count or by the sum of
// sumField.
func table(slug, title string, size int, query, sumField string, fields ...string) panel {
	metric := countAgg()
	if sumField != "" {
		metric = sumAgg(sumField)
	}
	aggs := []map[string]any{metric}
	for i, f := range fields {
		aggs = append(aggs, termsAgg(fmt.Sprint(i+2), "bucket", f, size))
	}
	return panel{slug: slug, title: title, visType: "table", params: map[string]any{
		"perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false, "showTotal": false, "totalFunc": "sum", "percentageCol": "",
	}, aggs: aggs, query: query}
}

// heatmap counts x against y.
func heatmap(slug, title, x, y string, query string) panel {
	return panel{slug: slug, title: title, visType: "heatmap", params: map[string]any{
		"type": "heatmap", "addTooltip": true, "addLegend": true, "enableHover": false, "legendPosition": "right",
		"colorSchema": "Reds", "colorsNumber": 5, "setColorRange": false, "invertColors": false, "percentageMode": false,
	}, aggs: []map[string]any{countAgg(), termsAgg("2", "segment", x, 20), termsAgg("3", "group", y, 20)}, query: query, wide: true}
}

// countryMap colors the countries of the world by count; the region map
// joins field (ISO 3166-1 alpha-2 codes) with its world countries layer.
func countryMap(slug, title, field string, query string) panel {
	return panel{slug: slug, title: title, visType: "region_map", params: map[string]any{
		"legendPosition": "bottomright", "addTooltip": true, "colorSchema": "Yellow to Red", "emsHotLink": "",
		"isDisplayWarning": true, "mapZoom": 2, "mapCenter": []any{0, 0}, "outlineWeight": 1, "showAllShapes": true,
	}, aggs: []map[string]any{countAgg(), termsAgg("2", "segment", field, 250)}, query: query}
}

// pointMap places counts on a world map by geo_point field.
func pointMap(slug, title, field string, query string) panel {
	return panel{slug: slug, title: title, visType: "tile_map", params: map[string]any{
		"mapType": "Scaled Circle Markers", "isDesaturated": true, "addTooltip": true, "heatClusterSize": 1.5,
		"legendPosition": "bottomright", "mapZoom": 2, "mapCenter": []any{0, 0},
	}, aggs: []map[string]any{countAgg(), geohashAgg(field)}, query: query}
}

// boards are Vigil's dashboards: the panels of the embedded console, one
// dashboard per log family.
func boards() []board {
	const (
		failed   = "event.outcome:failure"
		rejected = "event.action:REJECT"
		sshFail  = "event.category:authentication and event.outcome:failure"
	)
	return []board{
		{slug: "cloudtrail", title: "Vigil: CloudTrail API activity", logType: "cloudtrail",
			description: "AWS API calls: by service and operation, region against service, errors, top users and source addresses.",
			panels: []panel{
				overTime("calls-over-time", "CloudTrail: API calls over time by service", "event.module", ""),
				topBars("calls-by-service", "CloudTrail: calls by service", "event.module", 15, ""),
				table("calls-by-operation", "CloudTrail: calls by service and operation", 20, "", "", "event.module", "event.action"),
				heatmap("region-service", "CloudTrail: region × service", "cloud.region", "event.module", ""),
				overTime("errors-over-time", "CloudTrail: errors over time by code", "error.code", failed),
				table("errors", "CloudTrail: top errors", 20, failed, "", "error.code", "event.action"),
				table("top-users", "CloudTrail: top users", 20, "", "", "user.name"),
				table("top-source-ips", "CloudTrail: top source addresses", 20, "", "", "source.ip"),
			}},
		{slug: "vpcflowlogs", title: "Vigil: VPC Flow Logs", logType: "vpcflowlogs",
			description: "Network flows: top talkers by bytes, accepted against rejected, top destination ports, rejected sources by country.",
			panels: []panel{
				overTime("actions-over-time", "VPC Flow: accepted and rejected over time", "event.action", ""),
				table("top-talkers", "VPC Flow: top talkers by bytes", 20, "", "network.bytes", "source.ip", "destination.ip"),
				pie("accepted-rejected", "VPC Flow: accepted vs rejected", "event.action", 5, ""),
				topBars("top-destination-ports", "VPC Flow: top destination ports", "destination.port", 20, ""),
				countryMap("rejected-map", "VPC Flow: rejected sources by country (map)", "source.geo.country_iso_code", rejected),
				table("rejected-countries", "VPC Flow: rejected sources by country", 20, rejected, "", "source.geo.country_name", "source.ip"),
			}},
		{slug: "guardduty", title: "Vigil: GuardDuty findings", logType: "guardduty",
			description: "GuardDuty findings: over time by severity, top finding types, attack origins on a world map, affected resources.",
			panels: []panel{
				overTime("findings-over-time", "GuardDuty: findings over time by severity", "severitylabel", ""),
				topBars("top-types", "GuardDuty: top finding types", "rule.id", 20, ""),
				countryMap("origins-map", "GuardDuty: attack origins by country (map)", "source.geo.country_iso_code", ""),
				pointMap("origins-points", "GuardDuty: attack origins (points)", "source.geo.location", ""),
				table("origins-countries", "GuardDuty: attack origins by country", 20, "", "", "source.geo.country_name"),
				table("affected-resources", "GuardDuty: affected resources", 20, "", "", "resource.resourceType", "cloud.instance.id", "user.name"),
			}},
		{slug: "securityhub", title: "Vigil: Security findings", logType: "securityhub",
			description: "Security Hub findings: velocity, severity, by product.",
			panels: []panel{
				overTime("velocity", "Security findings: velocity by severity", "Severity.Label", ""),
				pie("severity", "Security findings: by severity", "Severity.Label", 10, ""),
				topBars("by-product", "Security findings: by product", "ProductName", 20, ""),
				table("top-titles", "Security findings: top findings", 20, "", "", "ProductName", "Title"),
			}},
		{slug: "dns", title: "Vigil: DNS activity", logType: "route53resolver",
			description: "Route 53 Resolver queries: top queried domains, by VPC and instance.",
			panels: []panel{
				overTime("queries-over-time", "DNS: queries over time by response code", "dns.response_code", ""),
				table("top-domains", "DNS: top queried domains", 25, "", "", "dns.question.name"),
				topBars("by-vpc", "DNS: queries by VPC", "vpc_id", 20, ""),
				topBars("by-instance", "DNS: queries by instance", "cloud.instance.id", 20, ""),
				table("domains-by-source", "DNS: domains by source", 20, "", "", "cloud.instance.id", "dns.question.name"),
			}},
		{slug: "authentication", title: "Vigil: Authentication", logType: "linux-secure",
			description: "SSH authentication failures: over time, by source country, by user.",
			panels: []panel{
				overTime("failures-over-time", "Authentication: SSH failures over time", "", sshFail),
				countryMap("failures-map", "Authentication: SSH failures by source country (map)", "source.geo.country_iso_code", sshFail),
				table("failures-by-country", "Authentication: SSH failures by source country", 20, sshFail, "", "source.geo.country_name"),
				table("failures-by-user", "Authentication: SSH failures by user", 20, sshFail, "", "user.name"),
				table("failures-by-source", "Authentication: SSH failures by source address", 20, sshFail, "", "source.ip", "user.name"),
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
	x, y := 0, 0
	for i, p := range b.panels {
		id := "vigil-vis-" + b.slug + "-" + p.slug
		out = append(out, p.object(id, patternID))
		w, h := 24, 15
		if p.wide {
			w = 48
		}
		if x+w > 48 {
			x, y = 0, y+h
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
		x += w
		if x >= 48 {
			x, y = 0, y+h
		}
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
					"query":        map[string]any{"query": p.query, "language": "kuery"},
					"filter":       []any{},
					"indexRefName": searchSourceRef,
				}),
			},
		},
		References: []Reference{{Name: searchSourceRef, Type: "index-pattern", ID: patternID}},
	}
}
