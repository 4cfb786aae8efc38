package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// testSchema is the SQL schema of the tests, shaped like the store's: typed
// columns for some fields, a JSON path for the rest of a known set.
type testSchema struct{}

var testFields = map[string]SQLField{
	"event.action":     {Expr: "event_action", Kind: Keyword},
	"@message":         {Expr: "message", Kind: Text},
	"destination.port": {Expr: "dst_port", Kind: Long},
	"score":            {Expr: "score", Kind: Double},
	"@timestamp":       {Expr: "ts", Kind: Date},
	"flag":             {Expr: "flag", Kind: Bool},
	"source.ip":        {Expr: "src_ip", Kind: IP, Num: "src_num"},
	"client.ip":        {Expr: "client_ip", Kind: IP},
	"related.ip":       {Expr: "related_ip", Kind: IP, List: true},
	"tags":             {Expr: "tags", Kind: Keyword, List: true},
	"userIdentity.arn": {Expr: "json_extract_string(doc, ?)", Args: []any{"$.userIdentity.arn"}, Kind: Keyword},
	"sourceIPAddress":  {Expr: "json_extract_string(doc, ?)", Args: []any{"$.sourceIPAddress"}, Kind: Keyword},
}

func (testSchema) Field(name string) (SQLField, bool) {
	f, ok := testFields[name]
	return f, ok
}

func (testSchema) FreeText() []SQLField {
	return []SQLField{{Expr: "message", Kind: Text}}
}

// twoTextSchema searches two expressions for free text.
type twoTextSchema struct{ testSchema }

func (twoTextSchema) FreeText() []SQLField {
	return []SQLField{{Expr: "message", Kind: Text}, {Expr: "json_extract_string(doc, ?)", Args: []any{"$.errorMessage"}, Kind: Text}}
}

// noTextSchema has no free-text fields.
type noTextSchema struct{ testSchema }

func (noTextSchema) FreeText() []SQLField { return nil }

func bigs(s ...string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// The IPv4-mapped numbers of a few addresses and prefixes.
const (
	v4base   = "281470681743360" // ::ffff:0.0.0.0
	ten0     = "281470849515520" // ::ffff:10.0.0.0
	ten255   = "281470866292735" // ::ffff:10.255.255.255
	tenOne   = "281470849581571" // ::ffff:10.1.2.3
	v6lo     = "42540766411282592856903984951653826560"
	v6hi     = "42540766490510755371168322545197776895"
	mappedHi = "281474976710655" // ::ffff:255.255.255.255
)

var sqlCases = []struct {
	name   string
	in     string
	schema SQLSchema
	where  string
	args   []any
}{
	{name: "match all", in: "", where: "TRUE"},
	{name: "free text", in: "denied", where: `message ILIKE ? ESCAPE '\'`, args: []any{"%denied%"}},
	{name: "free text escapes like", in: `100%_x\\y`, where: `message ILIKE ? ESCAPE '\'`, args: []any{`%100\%\_x\\y%`}},
	{name: "free phrase", in: `"access denied"`, where: `message ILIKE ? ESCAPE '\'`, args: []any{"%access denied%"}},
	{name: "free wildcard", in: `adm*n?`, where: `message ILIKE ? ESCAPE '\'`, args: []any{"%adm%n_%"}},
	{name: "free text two fields", in: "x", schema: twoTextSchema{}, where: `message ILIKE ? ESCAPE '\' OR json_extract_string(doc, ?) ILIKE ? ESCAPE '\'`, args: []any{"%x%", "$.errorMessage", "%x%"}},
	{name: "free text two fields in and", in: "x event.action:y", schema: twoTextSchema{}, where: `(message ILIKE ? ESCAPE '\' OR json_extract_string(doc, ?) ILIKE ? ESCAPE '\') AND event_action = ?`, args: []any{"%x%", "$.errorMessage", "%x%", "y"}},
	{name: "keyword", in: "event.action:ConsoleLogin", where: "event_action = ?", args: []any{"ConsoleLogin"}},
	{name: "keyword phrase", in: `event.action:"Console Login"`, where: "event_action = ?", args: []any{"Console Login"}},
	{name: "keyword wildcard", in: `event.action:Get_*%`, where: `event_action LIKE ? ESCAPE '\'`, args: []any{`Get\_%\%`}},
	{name: "keyword wildcard escaped star", in: `event.action:a\*b?`, where: `event_action LIKE ? ESCAPE '\'`, args: []any{`a*b_`}},
	{name: "json keyword", in: `userIdentity.arn:arn\:aws\:iam*`, where: `json_extract_string(doc, ?) LIKE ? ESCAPE '\'`, args: []any{"$.userIdentity.arn", "arn:aws:iam%"}},
	{name: "text field", in: "@message:Denied", where: `message ILIKE ? ESCAPE '\'`, args: []any{"%Denied%"}},
	{name: "text wildcard", in: "@message:den*ed", where: `message ILIKE ? ESCAPE '\'`, args: []any{"%den%ed%"}},
	{name: "long", in: "destination.port:443", where: "dst_port = ?", args: []any{int64(443)}},
	{name: "long integral exponent", in: "destination.port:1e3", where: "dst_port = ?", args: []any{int64(1000)}},
	{name: "long gte", in: "destination.port:>=1024", where: "dst_port >= ?", args: []any{int64(1024)}},
	{name: "long range", in: "destination.port:[1024 TO 65535]", where: "dst_port BETWEEN ? AND ?", args: []any{int64(1024), int64(65535)}},
	{name: "long range exclusive", in: "destination.port:{1024 TO 65535}", where: "(dst_port > ? AND dst_port < ?)", args: []any{int64(1024), int64(65535)}},
	{name: "long range fraction bound", in: "destination.port:>1.5", where: "dst_port > ?", args: []any{1.5}},
	{name: "double", in: "score:7.25", where: "score = ?", args: []any{7.25}},
	{name: "double lt", in: "score:<1e2", where: "score < ?", args: []any{100.0}},
	{name: "bool", in: "flag:TRUE", where: "flag = ?", args: []any{true}},
	{name: "date day", in: "@timestamp:2024-05-15", where: "ts BETWEEN ? AND ?", args: []any{int64(1715731200000), int64(1715817599999)}},
	{name: "date ms", in: "@timestamp:1715731200000", where: "ts = ?", args: []any{int64(1715731200000)}},
	{name: "date exact ms", in: `@timestamp:"2024-05-15T10:00:00.000Z"`, where: "ts = ?", args: []any{int64(1715767200000)}},
	{name: "date offset", in: `@timestamp:>=2024-05-15T10:00:00+02:00`, where: "ts >= ?", args: []any{int64(1715760000000)}},
	{name: "date range days", in: "@timestamp:[2024-05-01 TO 2024-05-15]", where: "ts BETWEEN ? AND ?", args: []any{int64(1714521600000), int64(1715817599999)}},
	{name: "date range exclusive days", in: "@timestamp:{2024-05-01 TO 2024-05-15}", where: "(ts > ? AND ts < ?)", args: []any{int64(1714607999999), int64(1715731200000)}},
	{name: "date now-24h", in: "@timestamp:>=now-24h", where: "ts >= ?", args: []any{int64(1715689800000)}},
	{name: "date now-7d", in: "@timestamp:[now-7d TO now]", where: "ts BETWEEN ? AND ?", args: []any{int64(1715171400000), int64(1715776200000)}},
	{name: "date rounded", in: "@timestamp:[now-1d/d TO now/d]", where: "ts BETWEEN ? AND ?", args: []any{int64(1715644800000), int64(1715817599999)}},
	{name: "date lt rounded", in: "@timestamp:<now/d", where: "ts < ?", args: []any{int64(1715731200000)}},
	{name: "date month", in: "@timestamp:2024-05", where: "ts BETWEEN ? AND ?", args: []any{int64(1714521600000), int64(1717199999999)}},
	{name: "ip num exact", in: "source.ip:10.1.2.3", where: "src_num = CAST(? AS UHUGEINT)", args: bigs(tenOne)},
	{name: "ip num cidr", in: "source.ip:10.0.0.0/8", where: "src_num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT)", args: bigs(ten0, ten255)},
	{name: "ip num cidr unmasked", in: "source.ip:10.1.2.3/8", where: "src_num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT)", args: bigs(ten0, ten255)},
	{name: "ip num cidr v6", in: "source.ip:2001:db8::/32", where: "src_num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT)", args: bigs(v6lo, v6hi)},
	{name: "ip quoted cidr", in: `source.ip:"10.0.0.0/8"`, where: "src_num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT)", args: bigs(ten0, ten255)},
	{name: "ip num range", in: "source.ip:[10.0.0.0 TO 10.255.255.255]", where: "src_num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT)", args: bigs(ten0, ten255)},
	{name: "ip num all v4", in: "source.ip:0.0.0.0/0", where: "src_num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT)", args: bigs(v4base, mappedHi)},
	{name: "ip text exact", in: "client.ip:10.1.2.3", where: "client_ip = ?", args: []any{"10.1.2.3"}},
	{name: "ip text exact mapped", in: "client.ip:::ffff:10.1.2.3", where: "client_ip = ?", args: []any{"10.1.2.3"}},
	{name: "ip text cidr", in: "client.ip:10.0.0.0/8", where: "vigil_ip2num(client_ip) BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT)", args: bigs(ten0, ten255)},
	{name: "ip text wildcard", in: "client.ip:10.1.*", where: `client_ip LIKE ? ESCAPE '\'`, args: []any{"10.1.%"}},
	{name: "ip list exact", in: "related.ip:2001:db8::1", where: "list_contains(related_ip, ?)", args: []any{"2001:db8::1"}},
	{name: "ip list cidr", in: "related.ip:10.0.0.0/8", where: "len(list_filter(related_ip, lambda x: vigil_ip2num(x) BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT))) > 0", args: bigs(ten0, ten255)},
	{name: "keyword cidr", in: "sourceIPAddress:10.0.0.0/8", where: "vigil_ip2num(json_extract_string(doc, ?)) BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT)", args: append([]any{"$.sourceIPAddress"}, bigs(ten0, ten255)...)},
	{name: "list keyword", in: "tags:prod", where: "list_contains(tags, ?)", args: []any{"prod"}},
	{name: "list wildcard", in: "tags:pr*", where: `len(list_filter(tags, lambda x: x LIKE ? ESCAPE '\')) > 0`, args: []any{"pr%"}},
	{name: "list range", in: "tags:{a TO c]", where: "len(list_filter(tags, lambda x: (x > ? AND x <= ?))) > 0", args: []any{"a", "c"}},
	{name: "keyword range", in: "event.action:[A TO C}", where: "(event_action >= ? AND event_action < ?)", args: []any{"A", "C"}},
	{name: "exists", in: "_exists_:event.action", where: "event_action IS NOT NULL"},
	{name: "exists star", in: "userIdentity.arn:*", where: "json_extract_string(doc, ?) IS NOT NULL", args: []any{"$.userIdentity.arn"}},
	{name: "exists list", in: "_exists_:tags", where: "len(tags) > 0"},
	{name: "and", in: "event.action:a AND destination.port:1", where: "event_action = ? AND dst_port = ?", args: []any{"a", int64(1)}},
	{name: "or in and", in: "event.action:(a OR b) flag:false", where: "(event_action = ? OR event_action = ?) AND flag = ?", args: []any{"a", "b", false}},
	{name: "and in or", in: "event.action:x OR event.action:b flag:true", where: "event_action = ? OR event_action = ? AND flag = ?", args: []any{"x", "b", true}},
	{name: "not", in: "NOT event.action:a", where: "(event_action = ?) IS NOT TRUE", args: []any{"a"}},
	{name: "not or", in: "-(event.action:a OR b)", where: `(event_action = ? OR message ILIKE ? ESCAPE '\') IS NOT TRUE`, args: []any{"a", "%b%"}},
	{name: "match all in and", in: "* AND flag:true", where: "TRUE AND flag = ?", args: []any{true}},
	{name: "json args repeat", in: "userIdentity.arn:a OR userIdentity.arn:b", where: "json_extract_string(doc, ?) = ? OR json_extract_string(doc, ?) = ?", args: []any{"$.userIdentity.arn", "a", "$.userIdentity.arn", "b"}},
}

func TestToSQL(t *testing.T) {
	for _, tc := range sqlCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseAt(tc.in, testNow)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tc.in, err)
			}
			s := tc.schema
			if s == nil {
				s = testSchema{}
			}
			where, args, err := ToSQL(n, s)
			if err != nil {
				t.Fatalf("ToSQL(%q): %v", tc.in, err)
			}
			if where != tc.where {
				t.Errorf("ToSQL(%q) where\n got %s\nwant %s", tc.in, where, tc.where)
			}
			if !reflect.DeepEqual(args, tc.args) {
				t.Errorf("ToSQL(%q) args\n got %#v\nwant %#v", tc.in, args, tc.args)
			}
			if c := strings.Count(where, "?"); c != len(args) {
				t.Errorf("ToSQL(%q): %d placeholders, %d args", tc.in, c, len(args))
			}
		})
	}
}

func TestToSQLErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		schema SQLSchema
		field  string
		value  string
		msg    string
	}{
		{name: "unknown field", in: "nope:1", field: "nope", msg: "no such field"},
		{name: "unknown field in range", in: "nope:>1", field: "nope", msg: "no such field"},
		{name: "unknown exists", in: "_exists_:nope", field: "nope", msg: "no such field"},
		{name: "word for long", in: "destination.port:https", field: "destination.port", value: "https", msg: "not a number"},
		{name: "fraction for long", in: "destination.port:1.5", field: "destination.port", value: "1.5", msg: "not an integer"},
		{name: "hex for long", in: "destination.port:0x10", field: "destination.port", value: "0x10", msg: "not a number"},
		{name: "word in long range", in: "destination.port:[a TO 5]", field: "destination.port", value: "a", msg: "not a number"},
		{name: "inf for double", in: "score:>inf", field: "score", value: "inf", msg: "not a number"},
		{name: "nan for double", in: "score:NaN", field: "score", value: "NaN", msg: "not a number"},
		{name: "bad bool", in: "flag:yes", field: "flag", value: "yes", msg: "not a boolean"},
		{name: "bool range", in: "flag:>false", field: "flag", msg: "ranges do not apply"},
		{name: "bad date", in: "@timestamp:>=yesterday", field: "@timestamp", value: "yesterday", msg: "not a date"},
		{name: "bad date month", in: "@timestamp:2024-13-01", field: "@timestamp", value: "2024-13-01", msg: "not a valid date"},
		{name: "bad date day", in: "@timestamp:2024-02-30", field: "@timestamp", value: "2024-02-30", msg: "not a valid date"},
		{name: "relative date term", in: "@timestamp:now-1d", field: "@timestamp", value: "now-1d", msg: "relative dates work in ranges"},
		{name: "bad date unit", in: "@timestamp:>now-1x", field: "@timestamp", value: "now-1x", msg: "not a date"},
		{name: "bad ip", in: "source.ip:10.0.0.256", field: "source.ip", value: "10.0.0.256", msg: "not an IP address"},
		{name: "bad ip range", in: "source.ip:[a TO b]", field: "source.ip", value: "a", msg: "not an IP address"},
		{name: "bad quoted cidr", in: `source.ip:"10.0.0.0/40"`, field: "source.ip", value: "10.0.0.0/40", msg: "not an IP address or CIDR"},
		{name: "v6 cidr without num", in: "client.ip:2001:db8::/32", field: "client.ip", value: "2001:db8::/32", msg: "IPv6 CIDRs need"},
		{name: "v6 cidr on list", in: "related.ip:2001:db8::/32", field: "related.ip", value: "2001:db8::/32", msg: "IPv6 CIDRs need"},
		{name: "v6 range without num", in: "client.ip:[::1 TO ::2]", field: "client.ip", value: "::1", msg: "IPv6 ranges need"},
		{name: "cidr on long", in: "destination.port:10.0.0.0/8", field: "destination.port", value: "10.0.0.0/8", msg: "a CIDR applies"},
		{name: "wildcard on long", in: "destination.port:44*", field: "destination.port", value: "44*", msg: "wildcards apply"},
		{name: "wildcard on date", in: "@timestamp:2024*", field: "@timestamp", value: "2024*", msg: "wildcards apply"},
		{name: "no free text", in: "x", schema: noTextSchema{}, msg: "no free-text fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseAt(tc.in, testNow)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tc.in, err)
			}
			s := tc.schema
			if s == nil {
				s = testSchema{}
			}
			where, _, err := ToSQL(n, s)
			if err == nil {
				t.Fatalf("ToSQL(%q) = %q, want an error", tc.in, where)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ToSQL(%q) error %T %v, want *FieldError", tc.in, err, err)
			}
			if fe.Field != tc.field || fe.Value != tc.value || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("ToSQL(%q) = %+v, want field %q value %q msg containing %q", tc.in, *fe, tc.field, tc.value, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "query: ") {
				t.Errorf("Error() = %q, want the query: prefix", err.Error())
			}
		})
	}
}
