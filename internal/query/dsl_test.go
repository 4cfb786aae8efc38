package query

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// testKinds is the DSL schema of the tests; unknown fields are keywords.
type testKinds map[string]Kind

func (k testKinds) Kind(field string) Kind { return k[field] }

var dslKinds = testKinds{
	"@message":         Text,
	"destination.port": Long,
	"score":            Double,
	"@timestamp":       Date,
	"flag":             Bool,
	"source.ip":        IP,
}

// messageKinds also names the free-text fields.
type messageKinds struct{ testKinds }

func (messageKinds) FreeTextFields() []string { return []string{"@message", "errorMessage"} }

var dslCases = []struct {
	name   string
	in     string
	schema DSLSchema
	want   string
}{
	{name: "match all", in: "*", want: `{"match_all":{}}`},
	{name: "free text", in: "denied", want: `{"query_string":{"fields":["*"],"lenient":true,"query":"\"denied\""}}`},
	{name: "free text reserved chars", in: `a\:b<c>`, want: `{"query_string":{"fields":["*"],"lenient":true,"query":"\"a:b<c>\""}}`},
	{name: "free phrase", in: `"access \"denied\""`, want: `{"query_string":{"fields":["*"],"lenient":true,"query":"\"access \\\"denied\\\"\""}}`},
	{name: "free wildcard", in: `adm*n/x<y`, want: `{"query_string":{"analyze_wildcard":true,"fields":["*"],"lenient":true,"query":"adm*n\\/x?y"}}`},
	{name: "free wildcard escapes", in: `a\*b\ c?`, want: `{"query_string":{"analyze_wildcard":true,"fields":["*"],"lenient":true,"query":"a\\*b\\ c?"}}`},
	{name: "free text fields", in: "x", schema: messageKinds{dslKinds}, want: `{"query_string":{"fields":["@message","errorMessage"],"lenient":true,"query":"\"x\""}}`},
	{name: "keyword", in: "eventName:ConsoleLogin", want: `{"term":{"eventName":"ConsoleLogin"}}`},
	{name: "keyword phrase", in: `eventName:"Console Login"`, want: `{"term":{"eventName":"Console Login"}}`},
	{name: "keyword wildcard", in: `userIdentity.arn:arn\:aws\:iam*`, want: `{"wildcard":{"userIdentity.arn":{"value":"arn:aws:iam*"}}}`},
	{name: "keyword wildcard escaped star", in: `a:x\*y*`, want: `{"wildcard":{"a":{"value":"x\\*y*"}}}`},
	{name: "text", in: "@message:denied", want: `{"match":{"@message":{"operator":"and","query":"denied"}}}`},
	{name: "text phrase", in: `@message:"access denied"`, want: `{"match_phrase":{"@message":"access denied"}}`},
	{name: "text wildcard", in: "@message:den*", want: `{"wildcard":{"@message":{"case_insensitive":true,"value":"den*"}}}`},
	{name: "long", in: "destination.port:443", want: `{"term":{"destination.port":443}}`},
	{name: "long gte", in: "destination.port:>=1024", want: `{"range":{"destination.port":{"gte":1024}}}`},
	{name: "long range", in: "destination.port:{1024 TO 65535]", want: `{"range":{"destination.port":{"gt":1024,"lte":65535}}}`},
	{name: "nil schema keeps strings", in: "destination.port:>=1024", schema: nil, want: `{"range":{"destination.port":{"gte":"1024"}}}`},
	{name: "double", in: "score:<7.5", want: `{"range":{"score":{"lt":7.5}}}`},
	{name: "bool", in: "flag:False", want: `{"term":{"flag":false}}`},
	{name: "date term", in: "@timestamp:2024-05-15", want: `{"range":{"@timestamp":{"format":"strict_date_optional_time||epoch_millis","gte":"2024-05-15","lte":"2024-05-15"}}}`},
	{name: "date relative", in: "@timestamp:>=now-24h", want: `{"range":{"@timestamp":{"format":"strict_date_optional_time||epoch_millis","gte":"now-24h"}}}`},
	{name: "date range", in: "@timestamp:[2024-05-01 TO now/d}", want: `{"range":{"@timestamp":{"format":"strict_date_optional_time||epoch_millis","gte":"2024-05-01","lt":"now/d"}}}`},
	{name: "ip", in: "source.ip:::ffff:10.1.2.3", want: `{"term":{"source.ip":"10.1.2.3"}}`},
	{name: "cidr", in: "source.ip:10.1.2.3/8", want: `{"term":{"source.ip":"10.0.0.0/8"}}`},
	{name: "cidr v6", in: "source.ip:2001:db8::/32", want: `{"term":{"source.ip":"2001:db8::/32"}}`},
	{name: "quoted cidr", in: `source.ip:"10.0.0.0/8"`, want: `{"term":{"source.ip":"10.0.0.0/8"}}`},
	{name: "ip range", in: "source.ip:[10.0.0.0 TO 10.0.0.255]", want: `{"range":{"source.ip":{"gte":"10.0.0.0","lte":"10.0.0.255"}}}`},
	{name: "exists", in: "_exists_:user.name", want: `{"exists":{"field":"user.name"}}`},
	{name: "and with not", in: "a:1 AND NOT b:2 -c:3", want: `{"bool":{"filter":[{"term":{"a":"1"}}],"must_not":[{"term":{"b":"2"}},{"term":{"c":"3"}}]}}`},
	{name: "or", in: "a:1 OR b:2", want: `{"bool":{"minimum_should_match":1,"should":[{"term":{"a":"1"}},{"term":{"b":"2"}}]}}`},
	{name: "not", in: "NOT a:1", want: `{"bool":{"must_not":[{"term":{"a":"1"}}]}}`},
	{name: "group", in: "eventName:(a OR b*) flag:true", want: `{"bool":{"filter":[{"bool":{"minimum_should_match":1,"should":[{"term":{"eventName":"a"}},{"wildcard":{"eventName":{"value":"b*"}}}]}},{"term":{"flag":true}}]}}`},
}

func TestToDSL(t *testing.T) {
	for _, tc := range dslCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseAt(tc.in, testNow)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tc.in, err)
			}
			s := tc.schema
			if s == nil && !strings.HasPrefix(tc.name, "nil schema") {
				s = dslKinds
			}
			q, err := ToDSL(n, s)
			if err != nil {
				t.Fatalf("ToDSL(%q): %v", tc.in, err)
			}
			got := marshal(t, q)
			if got != tc.want {
				t.Errorf("ToDSL(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestToDSLErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		field string
		value string
		msg   string
	}{
		{name: "word for long", in: "destination.port:https", field: "destination.port", value: "https", msg: "not a number"},
		{name: "word in long range", in: "destination.port:>x", field: "destination.port", value: "x", msg: "not a number"},
		{name: "bad bool", in: "flag:1", field: "flag", value: "1", msg: "not a boolean"},
		{name: "bool range", in: "flag:<true", field: "flag", msg: "ranges do not apply"},
		{name: "bad date", in: "@timestamp:>=tomorrow", field: "@timestamp", value: "tomorrow", msg: "not a date"},
		{name: "relative date term", in: "@timestamp:now", field: "@timestamp", value: "now", msg: "relative dates work in ranges"},
		{name: "bad ip", in: "source.ip:host", field: "source.ip", value: "host", msg: "not an IP address"},
		{name: "wildcard on ip", in: "source.ip:10.*", field: "source.ip", value: "10.*", msg: "wildcards apply"},
		{name: "cidr on long", in: "destination.port:10.0.0.0/8", field: "destination.port", value: "10.0.0.0/8", msg: "a CIDR applies"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseAt(tc.in, testNow)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tc.in, err)
			}
			q, err := ToDSL(n, dslKinds)
			if err == nil {
				t.Fatalf("ToDSL(%q) = %v, want an error", tc.in, q)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ToDSL(%q) error %T %v, want *FieldError", tc.in, err, err)
			}
			if fe.Field != tc.field || fe.Value != tc.value || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("ToDSL(%q) = %+v, want field %q value %q msg containing %q", tc.in, *fe, tc.field, tc.value, tc.msg)
			}
		})
	}
}
