package setup

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/logtype/guardduty"
	"github.com/vigil-siem/vigil/internal/logtype/vpcflowlogs"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/testutil"
)

// simMapping is the mapping an index gets from its index template's
// components, merged in order, enough to say which type a field of a
// document ends up with.
type simMapping struct {
	props   map[string]any // canonical (expanded) properties
	dynamic []map[string]any
	dateDet bool
}

// indexMappings merges the component mappings of every planned index.
func indexMappings(t *testing.T, p *Plan) map[string]*simMapping {
	t.Helper()
	comps := map[string]map[string]any{}
	for _, c := range p.Components {
		comps[c.Name] = c.Body
	}
	out := map[string]*simMapping{}
	for _, ip := range p.Indices {
		m := &simMapping{props: map[string]any{}, dateDet: true}
		for _, name := range ip.Components {
			body, err := roundTrip(comps[name])
			if err != nil {
				t.Fatal(err)
			}
			mp, _ := body.(map[string]any)["template"].(map[string]any)["mappings"].(map[string]any)
			if mp == nil {
				continue
			}
			if dd, ok := mp["date_detection"].(bool); ok {
				m.dateDet = dd
			}
			if dts, ok := mp["dynamic_templates"].([]any); ok {
				for _, dt := range dts {
					for _, v := range dt.(map[string]any) {
						m.dynamic = append(m.dynamic, v.(map[string]any))
					}
				}
			}
			if props, ok := mp["properties"].(map[string]any); ok {
				mergeProps(t, name, m.props, canonicalProperties(props))
			}
		}
		out[ip.Name] = m
	}
	return out
}

// mergeProps merges src into dst, failing on a field given two types (the
// cluster would refuse the index template).
func mergeProps(t *testing.T, comp string, dst, src map[string]any) {
	for k, v := range src {
		sv := v.(map[string]any)
		dv, ok := dst[k].(map[string]any)
		if !ok {
			dst[k] = sv
			continue
		}
		dt, st := fieldKind(dv), fieldKind(sv)
		if dt != st {
			t.Errorf("%s: field %s is %s in one component and %s in %s", comp, k, dt, st, comp)
		}
		if sp, ok := sv["properties"].(map[string]any); ok {
			dp, _ := dv["properties"].(map[string]any)
			if dp == nil {
				dp = map[string]any{}
				dv["properties"] = dp
			}
			mergeProps(t, comp, dp, sp)
		}
	}
}

func fieldKind(def map[string]any) string {
	if t, ok := def["type"].(string); ok {
		return t
	}
	if _, ok := def["properties"]; ok {
		return "object"
	}
	return "object"
}

// lookup returns the definition of a dotted field, following objects and
// multi-fields ("a.text").
func (m *simMapping) lookup(field string) map[string]any {
	cur := m.props
	parts := strings.Split(field, ".")
	for i, p := range parts {
		def, ok := cur[p].(map[string]any)
		if !ok {
			return nil
		}
		if i == len(parts)-1 {
			return def
		}
		if sub, ok := def["properties"].(map[string]any); ok {
			cur = sub
			continue
		}
		if fields, ok := def["fields"].(map[string]any); ok && i == len(parts)-2 {
			d, _ := fields[parts[i+1]].(map[string]any)
			return d
		}
		return nil
	}
	return nil
}

// fieldType is the explicit type of a field, "" when it is not mapped.
func (m *simMapping) fieldType(field string) string {
	d := m.lookup(field)
	if d == nil {
		return ""
	}
	return fieldKind(d)
}

// resolve is the type a value at field gets: its explicit mapping, else
// the first matching dynamic template, else OpenSearch's dynamic default.
func (m *simMapping) resolve(field string, v any) map[string]any {
	if d := m.lookup(field); d != nil {
		return d
	}
	kind := "object"
	switch x := v.(type) {
	case string:
		kind = "string"
	case json.Number:
		kind = "long"
		if strings.ContainsAny(x.String(), ".eE") {
			kind = "double"
		}
	case bool:
		kind = "boolean"
	}
	for _, dt := range m.dynamic {
		if mt, ok := dt["match_mapping_type"].(string); ok && mt != kind && mt != "*" {
			continue
		}
		if pm, ok := dt["path_match"].(string); ok {
			if ok, _ := path.Match(strings.ReplaceAll(pm, ".", "/"), strings.ReplaceAll(field, ".", "/")); !ok && !globMatch(pm, field) {
				continue
			}
		}
		return dt["mapping"].(map[string]any)
	}
	switch kind {
	case "string":
		return map[string]any{"type": "text"}
	case "long", "double", "boolean":
		return map[string]any{"type": kind}
	}
	return map[string]any{"type": "object"}
}

// globMatch matches OpenSearch's simple wildcards, where "*" also matches
// dots.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

// check walks a document and reports every value its mapping would refuse
// (a scalar where an object is mapped, an object where a scalar is) or
// would drop as malformed (a bad address, number, date or point).
func (m *simMapping) check(doc map[string]any) []string {
	var problems []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if list, ok := v.([]any); ok {
			for _, e := range list {
				walk(prefix, e)
			}
			return
		}
		def := m.resolve(prefix, v)
		kind := fieldKind(def)
		obj, isObj := v.(map[string]any)
		switch kind {
		case "object", "nested":
			if !isObj {
				problems = append(problems, fmt.Sprintf("%s: %v where an object is mapped", prefix, v))
				return
			}
			for k, sub := range obj {
				walk(prefix+"."+k, sub)
			}
			return
		case "geo_point":
			if isObj {
				if _, ok := obj["lat"].(json.Number); !ok {
					problems = append(problems, fmt.Sprintf("%s: %v is not a point", prefix, v))
				}
				return
			}
		}
		if isObj {
			problems = append(problems, fmt.Sprintf("%s: an object where %s is mapped", prefix, kind))
			return
		}
		if msg := malformed(kind, def, v); msg != "" {
			problems = append(problems, prefix+": "+msg)
		}
	}
	for k, v := range doc {
		walk(k, v)
	}
	sort.Strings(problems)
	return problems
}

// malformed says why a scalar does not fit its field type, "" when it does.
func malformed(kind string, def map[string]any, v any) string {
	s := fmt.Sprint(v)
	switch kind {
	case "ip":
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Sprintf("%q is not an address", s)
		}
	case "long":
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return fmt.Sprintf("%q is not an integer", s)
		}
	case "float", "double":
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return fmt.Sprintf("%q is not a number", s)
		}
	case "boolean":
		if s != "true" && s != "false" {
			return fmt.Sprintf("%q is not a boolean", s)
		}
	case "date":
		format, _ := def["format"].(string)
		if format == "" {
			format = "strict_date_optional_time||epoch_millis"
		}
		for _, f := range strings.Split(format, "||") {
			switch f {
			case "strict_date_optional_time":
				for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02"} {
					if _, err := time.Parse(layout, s); err == nil {
						return ""
					}
				}
			case "epoch_millis", "epoch_second":
				if _, err := strconv.ParseFloat(s, 64); err == nil {
					return ""
				}
			}
		}
		return fmt.Sprintf("%q does not parse as %s", s, format)
	}
	return ""
}

// Sample records of the log types with transforms, written for this test.
const (
	ctRecord = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice","sessionContext":{"attributes":{"creationDate":"2024-03-04T05:06:07Z","mfaAuthenticated":"false"}}},
"eventTime":"2024-03-04T05:06:08Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0",
"errorCode":"Client.UnauthorizedOperation","errorMessage":"You are not authorized to perform this operation.",
"requestParameters":{"instancesSet":{"items":[{"imageId":"ami-0abc","minCount":1,"maxCount":1}]},"instanceType":"t3.micro","disableApiTermination":false,"filter":{"name":"x"}},
"responseElements":null,"additionalEventData":{"bytesTransferredIn":12.5},"requestID":"r-1","eventID":"8f8f8f8f-1111-2222-3333-444444444444","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management",
"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.eu-west-1.amazonaws.com"}}`
	gdRecord = `{"schemaVersion":"2.0","accountId":"111122223333","region":"eu-west-1","partition":"aws","id":"abc123","arn":"arn:aws:guardduty:eu-west-1:111122223333:detector/d1/finding/abc123",
"type":"Recon:EC2/PortProbeUnprotectedPort","resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0123","launchTime":"2024-01-01T00:00:00.000Z",
"networkInterfaces":[{"privateIpAddress":"10.0.0.5","privateIpAddresses":[{"privateIpAddress":"10.0.0.5"}],"publicIp":"203.0.113.9","vpcId":"vpc-1"}],"tags":[{"key":"Name","value":"web"}]}},
"service":{"serviceName":"guardduty","detectorId":"d1","action":{"actionType":"PORT_PROBE","portProbeAction":{"blocked":false,"portProbeDetails":[{"localPortDetails":{"port":22,"portName":"SSH"},"localIpDetails":{"ipAddressV4":"10.0.0.5"},
"remoteIpDetails":{"ipAddressV4":"192.0.2.44","organization":{"asn":"64500","asnOrg":"Example","isp":"Example","org":"Example"},"country":{"countryCode":"NL","countryName":"Netherlands"},"city":{"cityName":"Amsterdam"},"geoLocation":{"lat":52.37,"lon":4.89}}}]}},
"resourceRole":"TARGET","additionalInfo":{"value":"{\"threatListName\":\"x\"}","type":"default"},"eventFirstSeen":"2024-03-04T05:00:00.000Z","eventLastSeen":"2024-03-04T06:00:00.000Z","archived":false,"count":3},
"severity":2,"createdAt":"2024-03-04T05:00:00.000Z","updatedAt":"2024-03-04T06:00:00.000Z","title":"Unprotected port on EC2 instance i-0123 is being probed.","description":"EC2 instance has an unprotected port which is being probed by a known malicious host."}`
	vpcLine = "2 111122223333 eni-0abc 192.0.2.10 10.0.0.5 49152 443 6 10 8400 1709528760 1709528820 REJECT OK"
)

// sampleDocuments normalizes the sample records.
func sampleDocuments(t *testing.T) map[string]map[string]any {
	t.Helper()
	ct, _ := testutil.Normalize(t, "cloudtrail", cloudtrail.Script{},
		event.Origin{Bucket: "b", Key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/04/x.json.gz"}, ctRecord, "")
	gd, _ := testutil.Normalize(t, "guardduty", guardduty.Script{},
		event.Origin{Bucket: "b", Key: "AWSLogs/111122223333/GuardDuty/eu-west-1/2024/03/04/x.jsonl.gz"}, gdRecord, "")
	header := strings.Fields("version account_id interface_id srcaddr dstaddr srcport dstport protocol packets bytes start end action log_status")
	vals := strings.Fields(vpcLine)
	var raw []byte
	raw = append(raw, '{')
	for i, h := range header {
		if i > 0 {
			raw = append(raw, ',')
		}
		raw = normalize.AppendQuoted(raw, h)
		raw = append(raw, ':')
		raw = normalize.AppendQuoted(raw, vals[i])
	}
	raw = append(raw, '}')
	vpc, _ := testutil.Normalize(t, "vpcflowlogs", vpcflowlogs.Script{},
		event.Origin{Bucket: "b", Key: "AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/03/04/111122223333_vpcflowlogs_eu-west-1_fl-1_20240304T0505Z_1.log.gz"}, string(raw), vpcLine)
	return map[string]map[string]any{"log-aws-cloudtrail": ct, "log-aws-guardduty": gd, "log-aws-vpcflowlogs": vpc}
}

// TestTemplatesAcceptDocuments maps sample documents of CloudTrail, VPC
// Flow Logs and GuardDuty with their index's templates: no value may be
// refused or dropped as malformed, and the key fields get their ECS types.
func TestTemplatesAcceptDocuments(t *testing.T) {
	p := plan(t, registry(t, ""), Options{})
	mappings := indexMappings(t, p)
	docs := sampleDocuments(t)
	// The checker itself finds what a cluster refuses or drops.
	bad := map[string]any{"source": "x", "destination": map[string]any{"ip": "nope", "port": json.Number("4x")}, "@timestamp": "yesterday"}
	if got := mappings["log-aws-cloudtrail"].check(bad); len(got) != 4 {
		t.Errorf("check found %d problems in a bad document, want 4: %v", len(got), got)
	}
	for index, doc := range docs {
		if len(doc) < 15 {
			t.Fatalf("%s: sample document has only %d fields", index, len(doc))
		}
		m := mappings[index]
		for _, problem := range m.check(doc) {
			t.Errorf("%s: %s", index, problem)
		}
	}
	tests := []struct {
		index, field string
		want         string
	}{
		{"log-aws-cloudtrail", "source.ip", "ip"},
		{"log-aws-cloudtrail", "@timestamp", "date"},
		{"log-aws-cloudtrail", "@message", "text"},
		{"log-aws-cloudtrail", "eventTime", "date"},
		{"log-aws-cloudtrail", "requestParameters.filter", "keyword"},
		{"log-aws-vpcflowlogs", "srcaddr", "ip"},
		{"log-aws-vpcflowlogs", "destination.port", "long"},
		{"log-aws-vpcflowlogs", "network.bytes", "long"},
		{"log-aws-vpcflowlogs", "end", "date"},
		{"log-aws-guardduty", "source.geo.location", "geo_point"},
		{"log-aws-guardduty", "service.action.portProbeAction.portProbeDetails.remoteIpDetails.geoLocation", "geo_point"},
		{"log-aws-guardduty", "service.action.portProbeAction.portProbeDetails.remoteIpDetails.ipAddressV4", "ip"},
		{"log-aws-guardduty", "threat.enrichments", "nested"},
		{"log-aws-guardduty", "threat.enrichments.indicator.ip", "ip"},
		{"log-aws-guardduty", "related.ip", "ip"},
	}
	for _, tc := range tests {
		if got := mappings[tc.index].fieldType(tc.field); got != tc.want {
			t.Errorf("%s %s: type %q, want %q", tc.index, tc.field, got, tc.want)
		}
	}
	// Dynamic fields: a new string is a keyword, a new *.ip an address.
	m := mappings["log-aws-cloudtrail"]
	if got := fieldKind(m.resolve("requestParameters.somethingNew", "x")); got != "keyword" {
		t.Errorf("a new string field maps to %s, want keyword", got)
	}
	if got := fieldKind(m.resolve("requestParameters.peer.ip", "192.0.2.1")); got != "ip" {
		t.Errorf("a new *.ip field maps to %s, want ip", got)
	}
	if got := fieldKind(m.resolve("client.geo.location", map[string]any{})); got != "geo_point" {
		t.Errorf("client.geo.location maps to %s, want geo_point", got)
	}
}

// TestTemplatesCoverLogTypes checks the templates against the log types'
// settings: every ECS field a log type fills that is an address is mapped
// as ip, every json_to_text field as a string, and the ECS base holds the
// types the issue asks for.
func TestTemplatesCoverLogTypes(t *testing.T) {
	reg := registry(t, "")
	p := plan(t, reg, Options{})
	mappings := indexMappings(t, p)
	for _, lt := range reg.Types() {
		m := mappings[lt.IndexName]
		if m == nil {
			continue
		}
		for _, f := range lt.ECS {
			typ := m.fieldType(f.Name)
			switch {
			case strings.HasSuffix(f.Name, ".ip") && typ != "ip":
				t.Errorf("[%s] %s: type %q, want ip", lt.Name, f.Name, typ)
			case strings.HasSuffix(f.Name, ".geo.location") && typ != "geo_point":
				t.Errorf("[%s] %s: type %q, want geo_point", lt.Name, f.Name, typ)
			case strings.HasSuffix(f.Name, ".port") && typ != "long":
				t.Errorf("[%s] %s: type %q, want long", lt.Name, f.Name, typ)
			case typ == "":
				t.Errorf("[%s] ECS field %s is not mapped", lt.Name, f.Name)
			}
		}
		for _, f := range lt.JSONToText {
			if typ := fieldKind(m.resolve(f, "text")); typ != "keyword" && typ != "text" {
				t.Errorf("[%s] json_to_text field %s maps to %s", lt.Name, f, typ)
			}
		}
	}
	comps, err := loadComponents()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range comps {
		if c.name != BaseComponent {
			continue
		}
		settings := c.body["template"].(map[string]any)["settings"].(map[string]any)
		if settings["index.mapping.ignore_malformed"] != true {
			t.Error("vigil-ecs: ignore_malformed is not set")
		}
	}
	for _, c := range p.Components {
		if c.Name == "vigil-log-aws-cloudtrail-fields" {
			s := c.Body["template"].(map[string]any)["settings"].(map[string]any)
			if n, _ := s["index.mapping.total_fields.limit"].(float64); n < 5000 {
				t.Errorf("CloudTrail field limit %v: its request and response elements need thousands", s["index.mapping.total_fields.limit"])
			}
		}
	}
}

// TestComponentsValid checks the embedded files: known field types, dates
// with a format, and index names that exist among the built-in log types.
func TestComponentsValid(t *testing.T) {
	comps, err := loadComponents()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, lt := range registry(t, "").Types() {
		known[lt.IndexName] = true
	}
	types := map[string]bool{"keyword": true, "text": true, "ip": true, "long": true, "float": true, "date": true,
		"geo_point": true, "boolean": true, "object": true, "nested": true}
	for _, c := range comps {
		for _, idx := range c.indices {
			if !known[idx] {
				t.Errorf("%s: index %s is no built-in index name", c.name, idx)
			}
		}
		mp, _ := c.body["template"].(map[string]any)["mappings"].(map[string]any)
		props, _ := mp["properties"].(map[string]any)
		var walk func(prefix string, props map[string]any)
		walk = func(prefix string, props map[string]any) {
			for name, v := range props {
				def := v.(map[string]any)
				typ := fieldKind(def)
				if !types[typ] {
					t.Errorf("%s: %s%s has type %q", c.name, prefix, name, typ)
				}
				if typ == "date" && def["format"] == nil {
					t.Errorf("%s: date %s%s has no format", c.name, prefix, name)
				}
				if sub, ok := def["properties"].(map[string]any); ok {
					walk(prefix+name+".", sub)
				}
			}
		}
		walk("", props)
	}
}
