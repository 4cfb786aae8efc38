package logtype

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, user ...NamedReader) *Registry {
	t.Helper()
	r, err := LoadFrom(user...)
	if err != nil {
		t.Fatalf("LoadFrom: %v", err)
	}
	return r
}

func ecsField(typ *Type, name string) ECSField {
	for _, f := range typ.ECS {
		if f.Name == name {
			return f
		}
	}
	return ECSField{}
}

func TestBuiltinNamesInOrder(t *testing.T) {
	r := mustLoad(t)
	var want []string
	for _, c := range builtinDetectCases {
		want = append(want, c.name)
	}
	if got := r.Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names() =\n%v\nwant\n%v", got, want)
	}
	if len(want) != 42 {
		t.Errorf("%d built-in types, want 42", len(want))
	}
}

func TestDetectBuiltin(t *testing.T) {
	r := mustLoad(t)
	for _, tc := range builtinDetectCases {
		t.Run(tc.name, func(t *testing.T) {
			typ, res := r.Detect(tc.key)
			if res != Matched || typ == nil || typ.Name != tc.name {
				got := "<nil>"
				if typ != nil {
					got = typ.Name
				}
				t.Errorf("Detect(%q) = %s, %v; want %s, matched", tc.key, got, res, tc.name)
			}
		})
	}
}

func TestDetectOutcomes(t *testing.T) {
	user := `
[cloudtrail]
s3_key_ignored = /CloudTrail-Digest/|_skipme_

[myapp]
s3_key = myapp-logs/
file_format = json
index_name = log-myapp
`
	r := mustLoad(t, NamedReader{Name: "user.ini", R: strings.NewReader(user)})
	tests := []struct {
		name     string
		key      string
		wantType string
		want     DetectResult
	}{
		{name: "folder", key: "AWSLogs/123456789012/CloudTrail/", want: NoData},
		{name: "empty", key: "", want: NoData},
		{name: "unknown", key: "some/other/file.txt", want: Unknown},
		{name: "dummy default never matches", key: "x/dummydummydummy/y.gz", want: Unknown},
		{name: "ignored", key: "AWSLogs/123456789012/CloudTrail-Digest/ap-northeast-1/2024/01/01/x_CloudTrail/digest.json.gz", wantType: "cloudtrail", want: Ignored},
		{name: "ignored by second alternative", key: "AWSLogs/1/CloudTrail/r/2024/01/01/a_skipme_.json.gz", wantType: "cloudtrail", want: Ignored},
		{name: "not ignored", key: "AWSLogs/1/CloudTrail/r/2024/01/01/a.json.gz", wantType: "cloudtrail", want: Matched},
		{name: "user type", key: "myapp-logs/2024/01/01/a.json", wantType: "myapp", want: Matched},
		{name: "first match wins", key: "myapp-logs/CloudTrail/a.json", wantType: "cloudtrail", want: Matched},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, res := r.Detect(tc.key)
			got := ""
			if typ != nil {
				got = typ.Name
			}
			if res != tc.want || got != tc.wantType {
				t.Errorf("Detect(%q) = %q, %v; want %q, %v", tc.key, got, res, tc.wantType, tc.want)
			}
		})
	}
}

func TestUserOverrides(t *testing.T) {
	user1 := `[DEFAULT]
index_tz = +09:00
index_rotation = daily

[windows-event]
timestamp_key = Event.System.TimeCreated.@SystemTime
`
	user2 := `[cloudtrail]
index_rotation = weekly
index_suffix = prod
ecs = source.ip
    cloud.region
source.ip = sourceIPAddress
    tlsDetails.clientAddress

[okta]
s3_key = okta-logs
index_name = log-okta
file_format = json
timestamp_key = published
ecs = client.ip related.user
client.ip = client.ipAddress
related.user = actor.alternateId
static_ecs = @log_type event.type
@log_type = okta
event.type = start
`
	r := mustLoad(t,
		NamedReader{Name: "opt/user.ini", R: strings.NewReader(user1)},
		NamedReader{Name: "user.ini", R: strings.NewReader(user2)})

	ct, _ := r.Get("cloudtrail")
	if ct.IndexRotation != RotationWeekly || ct.IndexSuffix != "prod" {
		t.Errorf("cloudtrail rotation/suffix = %q/%q", ct.IndexRotation, ct.IndexSuffix)
	}
	if _, off := time.Date(2024, 1, 1, 0, 0, 0, 0, ct.IndexTZ).Zone(); off != 9*3600 {
		t.Errorf("cloudtrail IndexTZ offset = %d, want 9h from DEFAULT override", off)
	}
	wantECS := []ECSField{
		{Name: "source.ip", Sources: []string{"sourceIPAddress", "tlsDetails.clientAddress"}},
		{Name: "cloud.region", Sources: []string{"awsRegion"}},
	}
	if !reflect.DeepEqual(ct.ECS, wantECS) {
		t.Errorf("cloudtrail ECS = %+v, want %+v", ct.ECS, wantECS)
	}
	// An override in one file reaches every section that refers to it.
	for _, n := range []string{"windows-event", "directory-service", "fsx-win"} {
		typ, _ := r.Get(n)
		if typ.TimestampKey != "Event.System.TimeCreated.@SystemTime" {
			t.Errorf("%s TimestampKey = %q", n, typ.TimestampKey)
		}
	}
	vpc, _ := r.Get("vpcflowlogs")
	if vpc.IndexRotation != RotationDaily {
		t.Errorf("vpcflowlogs IndexRotation = %q, want daily from DEFAULT", vpc.IndexRotation)
	}

	okta, ok := r.Get("okta")
	if !ok {
		t.Fatal("user type okta missing")
	}
	if names := r.Names(); names[len(names)-1] != "okta" {
		t.Errorf("user type not last in detection order: %v", names)
	}
	wantOkta := &Type{
		Name: "okta", FileFormat: "json", IndexName: "log-okta", TimestampKey: "published",
		ECS: []ECSField{
			{Name: "client.ip", Sources: []string{"client.ipAddress"}},
			{Name: "related.user", Sources: []string{"actor.alternateId"}, List: true},
		},
		StaticECS: []StaticField{
			{Name: "@log_type", Value: "okta"},
			{Name: "event.type", Value: "start", List: true, Values: []string{"start"}},
		},
		MaxLogCount: 100000, IndexRotation: RotationDaily, IndexTime: "@timestamp",
		TimestampFormat: TimeFormat{Kind: TimeFormatISO8601, Layout: "iso8601"},
		ECSVersion:      "1.10.0", CloudProvider: "aws", LogGroup: "dummy", IgnoreContainerStderr: true,
	}
	got := *okta
	got.S3Key, got.IndexTZ, got.TimestampTZ, got.Raw = nil, nil, nil, nil
	if !reflect.DeepEqual(&got, wantOkta) {
		t.Errorf("okta =\n%+v\nwant\n%+v", &got, wantOkta)
	}
	if okta.Raw["bump_version"] != "2.10.4" {
		t.Errorf("Raw misses inherited keys: %v", okta.Raw)
	}
}

func TestBuiltinFields(t *testing.T) {
	r := mustLoad(t)
	get := func(n string) *Type {
		typ, ok := r.Get(n)
		if !ok {
			t.Fatalf("no type %s", n)
		}
		return typ
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "cloudtrail doc_id", got: get("cloudtrail").DocID, want: "eventID"},
		{name: "cloudtrail delimiter", got: get("cloudtrail").JSONDelimiter, want: "Records"},
		{name: "cloudtrail max", got: get("cloudtrail").MaxLogCount, want: 50000},
		{name: "cloudtrail first ecs", got: get("cloudtrail").ECS[0], want: ECSField{Name: "cloud.account.id", Sources: []string{"recipientAccountId"}}},
		{name: "cloudtrail related.ip interpolated", got: ecsField(get("cloudtrail"), "related.ip"), want: ECSField{Name: "related.ip", Sources: []string{"sourceIPAddress"}, List: true}},
		{name: "vpc related.ip", got: ecsField(get("vpcflowlogs"), "related.ip"), want: ECSField{Name: "related.ip", Sources: []string{"srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"}, List: true}},
		{name: "vpc format", got: get("vpcflowlogs").TimestampFormat.Kind, want: TimeFormatEpoch},
		{name: "securitylake quoted epoch", got: get("securitylake").TimestampFormat, want: TimeFormat{Kind: TimeFormatEpoch, Layout: `"epoch"`}},
		{name: "securitylake related.host is not a list field", got: ecsField(get("securitylake"), "related.host"), want: ECSField{Name: "related.host", Sources: []string{"[device.instance_uid", "dst_endpoint.instance_uid,", "src_endpoint.instance_uid]"}}},
		{name: "ocsf-json follows securitylake", got: len(get("ocsf-json").ECS), want: len(get("securitylake").ECS)},
		{name: "guardduty suffix", got: get("guardduty").DocIDSuffix, want: "service.count"},
		{name: "guardduty source.ip", got: ecsField(get("guardduty"), "source.ip").Sources[0], want: "service.action.awsApiCallAction.remoteIpDetails.ipAddressV4"},
		{name: "securityhub key list", got: get("securityhub").TimestampKeyList, want: []string{"cwe_timestamp", "UpdatedAt"}},
		{name: "inspector strftime", got: get("inspector").TimestampFormat, want: TimeFormat{Kind: TimeFormatStrftime, Layout: "%b %d, %Y, %I:%M:%S %p"}},
		{name: "cloudfront header", got: get("cloudfront-standard").TextHeaderLineNumber, want: 2},
		{name: "config-snapshot file time", got: get("config-snapshot").FileTimestampFormat.String(), want: `_(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})T(?P<hour>\d{2})(?P<minute>\d{2})(?P<second>\d{2})Z_`},
		{name: "windows nano", got: get("windows-event").TimestampNano, want: true},
		{name: "directory-service via cwl", got: get("directory-service").ViaCWL, want: true},
		{name: "fsx via cwl", got: get("fsx-win").ViaCWL, want: false},
		{name: "linux-secure module", got: get("linux-secure").StaticECS, want: []StaticField{{Name: "event.kind", Value: "event"}, {Name: "event.module", Value: "secure"}}},
		{name: "linux related.hosts list", got: ecsField(get("linux-os-syslog"), "related.hosts"), want: ECSField{Name: "related.hosts", Sources: []string{"hostname"}, List: true}},
		{name: "waf static list", got: get("waf").StaticECS[1], want: StaticField{Name: "event.category", Value: "web", List: true, Values: []string{"web"}}},
		{name: "workspaces static list", got: get("workspaces-event").StaticECS[1].Values, want: []string{"authentication", "host"}},
		{name: "opensearch rename", got: get("opensearch-audit").RenamedNewFields, want: []RenamedField{{New: "timestamp", Old: "@timestamp"}}},
		{name: "redis rename", got: get("elasticache-redis-slowlog").RenamedNewFields, want: []RenamedField{{New: "Duration_us", Old: "Duration (us)"}}},
		{name: "apache xff", got: get("apache-access").ClientIPXFF, want: []string{"source.ip", "http.request.header.x_forwarded_for"}},
		{name: "nlb s3_key dollar", got: get("nlb").S3Key.String(), want: `elasticloadbalancing_.*T\d{4}Z_[0-9a-z]{8}\.log\.gz$`},
		{name: "guardduty ioc domain", got: get("guardduty").IOCDomain, want: []string{"dns.question.name"}},
		{name: "route53 ioc ip", got: get("route53resolver").IOCIP, want: []string{"dns.answers.data"}},
		{name: "geoip", got: get("vpcflowlogs").GeoIP, want: []string{"source", "destination"}},
		{name: "ua field", got: get("alb").UserAgentField, want: "user_agent"},
		{name: "field prefix", got: get("cloudhsm").FieldPrefix, want: "cloudhsm"},
		{name: "json_to_text", got: get("securitylake").JSONToText[6], want: "unmapped"},
		{name: "script", got: get("alb").ScriptECS, want: []string{"url.full"}},
		{name: "rds-mysql-error firstline", got: get("rds-mysql-error").MultilineFirstline.String(), want: `^20\d{2}-\d{2}-\d{2}`},
		{name: "index-metrics name", got: get("index-metrics").IndexName, want: "metrics-opensearch-index"},
		{name: "loggroup", got: get("guardduty").LogGroup, want: "duty"},
		{name: "index time", got: get("waf").IndexTime, want: "@timestamp"},
		{name: "incomplete ok", got: get("waf").Incomplete(), want: ""},
		{name: "default", got: func() string { v, _ := r.Default("custom_user_agent"); return v }(), want: "siem-es-loader"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func TestBuiltinPatternsMatchSamples(t *testing.T) {
	r := mustLoad(t)
	tests := []struct {
		name   string
		line   string
		groups map[string]string
	}{
		{name: "linux-os-syslog", line: "Jan  5 01:02:03 ip-10-0-0-1 sshd[1234]: Accepted publickey for ec2-user",
			groups: map[string]string{"hostname": "ip-10-0-0-1", "proc": "sshd", "pid": "1234", "syslog_message": "Accepted publickey for ec2-user"}},
		{name: "nginx-error", line: "2024/01/01 00:00:00 [error] 12#34: *5 open() failed",
			groups: map[string]string{"severity": "error", "process_id": "12", "thread_id": "34", "connection_id": "5"}},
		{name: "apache-access", line: `192.0.2.1 - - [01/Jan/2024:00:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.0"`,
			groups: map[string]string{"remotehost": "192.0.2.1", "request_method": "GET", "request_path": "/index.html", "response_status": "200", "useragent": "curl/8.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, _ := r.Get(tc.name)
			m := typ.LogPattern.FindStringSubmatch(tc.line)
			if m == nil {
				t.Fatalf("log_pattern does not match %q", tc.line)
			}
			for g, want := range tc.groups {
				if got := m[typ.LogPattern.SubexpIndex(g)]; got != want {
					t.Errorf("group %s = %q, want %q", g, got, want)
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		user string
		want []string // substrings of the error
	}{
		{name: "broken line", user: "[cloudtrail]\nindex_name = x\nthis line is broken\n",
			want: []string{"user.ini:3:", "this line is broken"}},
		{name: "key before section", user: "index_name = x\n", want: []string{"user.ini:1:", "before any section"}},
		{name: "duplicate key", user: "[waf]\ngeoip = source\ngeoip = source\n", want: []string{"user.ini:3:", `"geoip" already exists`}},
		{name: "bad s3_key", user: "[waf]\n\ns3_key = (unclosed\n", want: []string{"user.ini:3:", "[waf] s3_key", `"(unclosed"`}},
		{name: "lookahead", user: "[waf]\nlog_pattern = a(?=b)\n", want: []string{"user.ini:2:", "[waf] log_pattern", "RE2"}},
		{name: "missing ecs mapping", user: "[waf]\necs = source.ip url.full\n", want: []string{"user.ini:2:", "[waf] ecs", `no key "url.full"`}},
		{name: "missing static value", user: "[x]\nstatic_ecs = event.kind\n", want: []string{"user.ini:2:", "[x] static_ecs"}},
		{name: "bad bool", user: "[waf]\nvia_cwl = maybe\n", want: []string{"user.ini:2:", "[waf] via_cwl", `"maybe"`, "boolean"}},
		{name: "bad int", user: "[waf]\nmax_log_count = lots\n", want: []string{"user.ini:2:", "max_log_count", "integer"}},
		{name: "bad retention", user: "[waf]\nretention_days = ninety\n", want: []string{"user.ini:2:", "retention_days", "integer"}},
		{name: "negative retention", user: "[waf]\nretention_days = -1\n", want: []string{"user.ini:2:", "retention_days", "days"}},
		{name: "bad tz inherited", user: "[DEFAULT]\ntimestamp_tz = JST\n", want: []string{"user.ini:2:", "[vpcflowlogs] timestamp_tz", `"JST"`}},
		{name: "bad rotation", user: "[waf]\nindex_rotation = hourly\n", want: []string{"[waf] index_rotation", `"hourly"`}},
		{name: "bad index_time", user: "[waf]\nindex_time = now\n", want: []string{"[waf] index_time"}},
		{name: "bad format", user: "[waf]\nfile_format = yaml\n", want: []string{"[waf] file_format", `"yaml"`}},
		{name: "bad format list", user: "[waf]\ntimestamp_format_list = [iso8601]\n", want: []string{"[waf] timestamp_format_list", "JSON"}},
		{name: "bad xff", user: "[waf]\nclientip_xff = source.ip\n", want: []string{"[waf] clientip_xff"}},
		{name: "missing reference", user: "[waf]\nindex_name = ${nosuch:index_name}\n", want: []string{"user.ini:2:", "[waf] index_name", "nosuch:index_name"}},
		{name: "cycle", user: "[waf]\na = ${b}\nb = ${a}\n", want: []string{"[waf] a", "deeper than 10"}},
		{name: "bad dollar", user: "[waf]\nindex_name = log-$x\n", want: []string{"user.ini:2:", "[waf] index_name", "'$' must be followed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFrom(NamedReader{Name: "user.ini", R: strings.NewReader(tc.user)})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigErrorIsTyped(t *testing.T) {
	_, err := LoadFrom(NamedReader{Name: "u.ini", R: strings.NewReader("[waf]\nvia_cwl = maybe\n")})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *ConfigError", err)
	}
	if ce.File != "u.ini" || ce.Line != 2 || ce.Section != "waf" || ce.Key != "via_cwl" || ce.Value != "maybe" {
		t.Errorf("ConfigError = %+v", ce)
	}
}

func TestLoadFiles(t *testing.T) {
	r, err := Load("testdata/user.ini")
	if err != nil {
		t.Fatal(err)
	}
	typ, res := r.Detect("firelens/apache/2024/01/01/a.log")
	if res != Matched || typ.Name != "apache-container" {
		t.Errorf("Detect = %v, %v", typ, res)
	}
	if typ.Incomplete() != "" {
		t.Errorf("Incomplete() = %q", typ.Incomplete())
	}
	half, _ := r.Get("halfdone")
	if half.Incomplete() == "" {
		t.Error("halfdone without file_format should be incomplete")
	}
	if _, err := Load("testdata/does-not-exist.ini"); err == nil {
		t.Error("missing file: no error")
	}
}

func TestParseOffset(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "+09:00", want: 9 * 3600},
		{in: "+00:00", want: 0},
		{in: "-04:00", want: -4 * 3600},
		{in: "-04:30", want: -(4*3600 + 30*60)},
		{in: "+05:45", want: 5*3600 + 45*60},
		{in: "9", want: 9 * 3600},
		{in: "-3.5", want: -(3*3600 + 30*60)},
		{in: "JST", wantErr: true},
		{in: "", wantErr: true},
		{in: "+24:00", wantErr: true},
		{in: "+09:75", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			loc, err := ParseOffset(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if _, off := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Zone(); off != tc.want {
				t.Errorf("offset = %d, want %d", off, tc.want)
			}
		})
	}
}

func TestCompilePython(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		match   string
		noMatch string
		wantErr bool
	}{
		{name: "named group", pattern: `(?P<y>\d{4})`, match: "2024"},
		{name: "end of text", pattern: `abc\Z`, match: "xabc", noMatch: "abcx"},
		{name: "open lower bound", pattern: `^a{,2}$`, match: "aa", noMatch: "aaa"},
		{name: "class untouched", pattern: `^[{,]2}$`, match: ",2}"},
		{name: "literal bracket in class", pattern: `[]a]`, match: "]"},
		{name: "backreference", pattern: `(a)\1`, wantErr: true},
		{name: "lookbehind", pattern: `(?<=a)b`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re, err := CompilePython(tc.pattern)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if tc.match != "" && !re.MatchString(tc.match) {
				t.Errorf("%q does not match %q", re, tc.match)
			}
			if tc.noMatch != "" && re.MatchString(tc.noMatch) {
				t.Errorf("%q matches %q", re, tc.noMatch)
			}
		})
	}
}

func TestParseTimeFormat(t *testing.T) {
	tests := []struct {
		in   string
		want TimeFormatKind
	}{
		{in: "", want: TimeFormatNone},
		{in: "epoch", want: TimeFormatEpoch},
		{in: `"epoch"`, want: TimeFormatEpoch},
		{in: "syslog", want: TimeFormatSyslog},
		{in: "iso8601", want: TimeFormatISO8601},
		{in: "%Y-%m-%d %H:%M:%S,%f", want: TimeFormatStrftime},
	}
	for _, tc := range tests {
		if got := ParseTimeFormat(tc.in).Kind; got != tc.want {
			t.Errorf("ParseTimeFormat(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{in: "", want: nil},
		{in: "a b\nc", want: []string{"a", "b", "c"}},
		{in: "[a, b c ,d]", want: []string{"a", "b c", "d"}},
		{in: "[]", want: nil},
		{in: "[a]", want: []string{"a"}},
	}
	for _, tc := range tests {
		if got := splitList(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	r, err := LoadFrom()
	if err != nil {
		b.Fatal(err)
	}
	last := builtinDetectCases[len(builtinDetectCases)-1].key
	b.ResetTimer()
	for b.Loop() {
		r.Detect(last)
	}
}
